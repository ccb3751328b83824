"""The identity cache in Redis: read in one round trip, from the event loop too.

Private to ``async_auth_views.identity``. A small Lua script reads an entry
and its three tokens at once, with Django's client in a thread or redis-py's
asyncio client in the loop; what it read is judged by ``_entries.entry_user()``
(docs/internals.rst, "The identity cache in Redis").
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from ._entries import (
    EVERYONE,
    CacheRead,
    Entry,
    entry_token_pointer_key,
    entry_user,
    entry_user_token_key,
    logger,
    session_entry_key,
    session_token_key,
)
from ._owed import owed, paid, settled

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase


#: OPTIONS that name sync redis-py classes, which the asyncio client cannot use.
_SYNC_ONLY_OPTIONS = ("pool_class", "parser_class")
#: OPTIONS that Django's client takes for itself; the rest go to the pool.
_CLIENT_OPTIONS = ("serializer", *_SYNC_ONLY_OPTIONS)

#: KEYS: the entry, its pointer, the session's token, everyone's token. Returns
#: nil when there is no entry, else the entry, the pointer, the token it points
#: to and the other two (nil where a key is missing). Reads only: it runs on a
#: read-only replica too. It reads a key it was not given (the pointed-to
#: token), which Redis allows outside Redis Cluster (not a RedisCache setup).
_READ_ENTRY = """
local entry = redis.call("GET", KEYS[1])
if not entry then
    return false
end
local pointer = redis.call("GET", KEYS[2])
local user_token = false
if pointer then
    user_token = redis.call("GET", pointer)
end
return {entry, pointer, user_token, redis.call("GET", KEYS[3]), redis.call("GET", KEYS[4])}
"""
_READ_ENTRY_SHA = hashlib.sha1(_READ_ENTRY.encode()).hexdigest()


class _LoopClients:
    """The asyncio clients of one event loop, closed when the loop shuts down.

    An asyncio connection belongs to the loop that opened it. ``asyncio.run()``
    (and every ASGI server) closes the async generators still open when its
    loop ends, so a generator parked for the loop's lifetime closes the
    clients cleanly then, instead of leaving their sockets to the collector.
    """

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], Any] = {}
        self._lifetime = self._until_shutdown()

    async def start(self) -> None:
        await anext(self._lifetime)

    async def _until_shutdown(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            clients, self.clients = list(self.clients.values()), {}
            for client in clients:
                await client.connection_pool.disconnect()


_by_loop: dict[asyncio.AbstractEventLoop, _LoopClients] = {}


async def _loop_clients() -> _LoopClients:
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        for old in [old for old in _by_loop if old.is_closed()]:
            # Closed without shutting its generators down: nothing can run on
            # it any more; its sockets are closed when collected.
            del _by_loop[old]
        found = _by_loop[loop] = _LoopClients()
        await found.start()
    return found


class RedisReader:
    """Reads (and writes the entries of) an identity cache in Redis; see
    ``_cache.reader_for()``.

    It uses ``RedisCache``'s private attributes (``_servers``, ``_options``,
    ``_class``, and its client's ``_serializer`` and read-server choice), the
    same in every Django this library supports, so that both clients read the
    same keys from the same server and decode them alike.
    """

    #: Reading costs no thread hop: the asyncio client reads in the event loop.
    in_loop = True

    def __init__(self, cache: RedisCache) -> None:
        self.cache = cache
        self._django_client: RedisCacheClient = cache._cache
        options = cache._options  # type: ignore[attr-defined]
        self._options = {k: v for k, v in options.items() if k not in _CLIENT_OPTIONS}

    async def _client(self, write: bool = False) -> Any:
        import redis.asyncio

        # The server Django's client would read from (a replica, when several),
        # or write to.
        index = self._django_client._get_connection_pool_index(write)  # type: ignore[attr-defined]
        server = self.cache._servers[index]  # type: ignore[attr-defined]
        # Keyed by configuration, not by cache object: Django makes a cache
        # object per request under ASGI, and a pool per request would mean a
        # connection per request.
        key = (server, repr(sorted(self._options.items(), key=lambda kv: kv[0])))
        clients = (await _loop_clients()).clients
        client = clients.get(key)
        if client is None:
            pool = redis.asyncio.ConnectionPool.from_url(server, **self._options)
            client = clients[key] = redis.asyncio.Redis(connection_pool=pool)
        return client

    def _loads(self, value: bytes) -> Any:
        return self._django_client._serializer.loads(value)  # type: ignore[attr-defined]

    def _read_keys(self, session_key: str) -> list[str]:
        make_key = self.cache.make_key  # Validated when written: no need twice.
        return [
            make_key(session_entry_key(session_key)),
            make_key(entry_token_pointer_key(session_key)),
            make_key(session_token_key(session_key)),
            make_key(EVERYONE),
        ]

    def _judged(self, session_key: str, reply: Any, encoder: Any) -> Entry | None:
        """The entry the script read, if it may be served; None for a miss."""
        if reply is None:
            return None
        entry_value, pointer, user_token, session_token, everyone_token = reply
        entry = self._loads(entry_value)
        if not isinstance(entry, Entry):
            return None
        user_key = entry_user_token_key(entry)
        values = {
            session_token_key(session_key): session_token,
            EVERYONE: everyone_token,
        }
        if pointer == encoder.encode(self.cache.make_key(user_key)):
            values[user_key] = user_token  # Else it is missing: a miss.
        found = {key: self._loads(v) for key, v in values.items() if v is not None}
        return entry if entry_user(entry, found) is not None else None

    def read(self, session: SessionBase) -> CacheRead:
        """The session's valid entry, or a miss; one round trip, with Django's
        client. Never raises: a failing cache is a miss, marked as failed."""
        from redis.exceptions import NoScriptError

        session_key = session.session_key
        if not session_key or not settled(self.cache):
            return CacheRead()
        keys = self._read_keys(session_key)
        try:
            client = self._django_client.get_client(None, write=False)
            try:
                reply = client.evalsha(_READ_ENTRY_SHA, len(keys), *keys)
            except NoScriptError:  # A server that has not seen it (or restarted).
                client.script_load(_READ_ENTRY)
                reply = client.evalsha(_READ_ENTRY_SHA, len(keys), *keys)
            return CacheRead(self._judged(session_key, reply, client.get_encoder()))
        except Exception:
            logger.warning("The identity cache could not be read.", exc_info=True)
            return CacheRead(failed=True)

    async def aread(self, session: SessionBase) -> CacheRead:
        """See read(); with the asyncio client, in the event loop."""
        from redis.exceptions import NoScriptError

        session_key = session.session_key
        if not session_key:
            return CacheRead()
        keys = self._read_keys(session_key)
        try:
            await self._apay()
            client = await self._client()
            try:
                reply = await client.evalsha(_READ_ENTRY_SHA, len(keys), *keys)
            except NoScriptError:  # A server that has not seen it (or restarted).
                await client.script_load(_READ_ENTRY)
                reply = await client.evalsha(_READ_ENTRY_SHA, len(keys), *keys)
            entry = self._judged(session_key, reply, client.get_encoder())
        except Exception:
            logger.warning("The identity cache could not be read.", exc_info=True)
            return CacheRead(failed=True)
        return CacheRead(entry)

    async def _apay(self) -> None:
        """See _owed.settled(): delete what this process owes, on the server
        Django writes to; raises if Redis fails (then nothing is read)."""
        keys = owed()
        if keys:
            client = await self._client(write=True)
            await client.delete(*(self.cache.make_key(key) for key in keys))
            paid(keys)

    def write(self, session_key: str, entry: Entry, timeout: int) -> None:
        """Write ``entry`` and its pointer, both or neither (``MULTI``), as
        Django's ``set()`` would write the entry alone. Raises if Redis fails."""
        client = self._django_client.get_client(None, write=True)
        with client.pipeline(transaction=True) as pipe:
            for key, value in self._entry_values(session_key, entry):
                pipe.set(key, value, ex=timeout)
            pipe.execute()

    def _entry_values(self, session_key: str, entry: Entry) -> list[tuple[str, Any]]:
        """The keys and values an entry is written as: itself, and its pointer
        to the user's token."""
        make_key = self.cache.make_and_validate_key
        return [
            (
                make_key(session_entry_key(session_key)),
                self._django_client._serializer.dumps(entry),  # type: ignore[attr-defined]
            ),
            (
                make_key(entry_token_pointer_key(session_key)),
                make_key(entry_user_token_key(entry)),
            ),
        ]

    # A fill's primitives from the event loop (_fill.asnapshot(),
    # _fill.aremember()), with the asyncio client on the server Django writes
    # to, keys and values as Django's RedisCache makes them.

    @property
    def fills_in_loop(self) -> bool:
        """Whether ``aadd()`` is Django's ``add()`` (not a subclass's own)."""
        return type(self.cache).add is RedisCache.add

    async def aget_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """``cache.get_many(keys)``."""
        made = {self.cache.make_and_validate_key(key): key for key in keys}
        client = await self._client(write=True)
        values = await client.mget(list(made))
        return {
            made[key]: self._loads(value)
            for key, value in zip(made, values, strict=True)
            if value is not None
        }

    async def aadd(self, key: str, value: Any, timeout: int | None) -> bool:
        """``cache.add(key, value, timeout)``."""
        made = self.cache.make_and_validate_key(key)
        backend_timeout = self.cache.get_backend_timeout(timeout)
        dumped = self._django_client._serializer.dumps(value)  # type: ignore[attr-defined]
        client = await self._client(write=True)
        if backend_timeout == 0:  # Django's: added, then expired at once.
            added = bool(await client.set(made, dumped, nx=True))
            if added:
                await client.delete(made)
            return added
        return bool(await client.set(made, dumped, ex=backend_timeout, nx=True))

    async def awrite(self, session_key: str, entry: Entry, timeout: int) -> None:
        """See write()."""
        client = await self._client(write=True)
        async with client.pipeline(transaction=True) as pipe:
            for key, value in self._entry_values(session_key, entry):
                pipe.set(key, value, ex=timeout)
            await pipe.execute()


def redis_reader(cache: object) -> RedisReader | None:
    """A reader for ``cache`` when it is a Redis cache the asyncio client can read
    as Django's client does; None otherwise (then it is read in a thread,
    through Django's cache API, in two round trips)."""
    if not isinstance(cache, RedisCache):
        return None
    cls = type(cache)
    if (
        cache._class is not RedisCacheClient  # type: ignore[attr-defined]
        or cls.get is not RedisCache.get
        or cls.get_many is not RedisCache.get_many
        or cls.set is not RedisCache.set
        or any(option in cache._options for option in _SYNC_ONLY_OPTIONS)  # type: ignore[attr-defined]
    ):
        return None  # A custom client, or reads that do more than Django's.
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        return None
    return RedisReader(cache)
