"""Identity-cache reads in one round trip, and on the event loop, for a cache in Redis.

Django's cache API is synchronous, so reading an identity cache in Redis
through it costs a thread hop per request, hit or miss, and two round trips
(the entry, then the tokens it names). For a
``django.core.cache.backends.redis.RedisCache`` this module reads the entry
and its three tokens with one small Lua script instead: from the event loop
with redis-py's asyncio client, and from a thread with Django's own client.
The user's token is named by the entry, which the script cannot unpickle, so
each entry is written together with a plain key beside it naming its user's
token (``identity.entry_token_pointer_key()``); the script follows it. The
pointer is only a route: what is read is judged in Python by ``identity.py``,
which checks that the pointer names the token of the very user the entry
serves, so a missing, stale or forged pointer is a miss, never a hit.

Both clients use the cache's own ``make_key()`` (``KEY_PREFIX``, ``VERSION``,
``KEY_FUNCTION``), its own serializer, its servers (reads go where Django's
client sends them) and its ``OPTIONS``. Invalidation stays with Django's
cache API; only a deletion this process owes (``identity.settled()``) is made
from the event loop, on the server Django writes to, before the next read.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from ._cache import (
    EVERYONE,
    Identity,
    entry_token_pointer_key,
    entry_user,
    entry_user_token_key,
    logger,
    owed,
    paid,
    session_entry_key,
    session_token_key,
)

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

    from .._types import UserType

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


@dataclass(frozen=True)
class Lookup:
    """What reading the cache found: the user of a valid entry, or a miss."""

    user: UserType | None
    #: The cache could not be read (and that was logged): do not fill it now.
    failed: bool = False
    #: When the entry's session ends; None when its engine cannot tell.
    expires_at: datetime.datetime | None = None
    #: The valid entry found, whose backend still has to confirm it.
    entry: Identity | None = None

    @classmethod
    def of(cls, entry: Identity | None) -> Lookup:
        """The lookup that found ``entry`` (a valid one, or None)."""
        if entry is None:
            return cls(None)
        return cls(entry.user, expires_at=entry.expires_at, entry=entry)


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
    """Reads (and writes the entries of) an identity cache in Redis.

    It uses ``RedisCache``'s private attributes (``_servers``, ``_options``,
    ``_class``, and its client's ``_serializer`` and read-server choice), the
    same in every Django this library supports, so that both clients read the
    same keys from the same server and decode them alike.
    """

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

    def _judged(self, session_key: str, reply: Any, encoder: Any) -> Identity | None:
        """The entry the script read, if it may be served; None for a miss."""
        if reply is None:
            return None
        entry_value, pointer, user_token, session_token, everyone_token = reply
        entry = self._loads(entry_value)
        if not isinstance(entry, Identity):
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

    def cached_identity(self, session: SessionBase) -> Identity | None:
        """See identity.cached_identity(): one round trip, with Django's client."""
        from redis.exceptions import NoScriptError

        session_key = session.session_key
        if not session_key:
            return None
        keys = self._read_keys(session_key)
        try:
            client = self._django_client.get_client(None, write=False)
            try:
                reply = client.evalsha(_READ_ENTRY_SHA, len(keys), *keys)
            except NoScriptError:  # A server that has not seen it (or restarted).
                client.script_load(_READ_ENTRY)
                reply = client.evalsha(_READ_ENTRY_SHA, len(keys), *keys)
            return self._judged(session_key, reply, client.get_encoder())
        except Exception:
            logger.warning("The identity cache could not be read.", exc_info=True)
            return None

    async def acached_user(self, session: SessionBase) -> Lookup:
        """See cached_identity(); with the asyncio client, on the event loop.
        Never raises: a failing cache is a miss, marked as failed."""
        from redis.exceptions import NoScriptError

        session_key = session.session_key
        if not session_key:
            return Lookup(None)
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
            return Lookup(None, failed=True)
        return Lookup.of(entry)

    async def _apay(self) -> None:
        """See identity.settled(): delete what this process owes, on the server
        Django writes to; raises if Redis fails (then nothing is read)."""
        keys = owed()
        if keys:
            client = await self._client(write=True)
            await client.delete(*(self.cache.make_key(key) for key in keys))
            paid(keys)

    def remember(self, session_key: str, entry: Identity, timeout: int) -> None:
        """Write ``entry`` and its pointer, both or neither (``MULTI``), as
        Django's ``set()`` would write the entry alone. Raises if Redis fails."""
        make_key = self.cache.make_and_validate_key
        client = self._django_client.get_client(None, write=True)
        with client.pipeline(transaction=True) as pipe:
            pipe.set(
                make_key(session_entry_key(session_key)),
                self._django_client._serializer.dumps(entry),  # type: ignore[attr-defined]
                ex=timeout,
            )
            pipe.set(
                make_key(entry_token_pointer_key(session_key)),
                make_key(entry_user_token_key(entry)),
                ex=timeout,
            )
            pipe.execute()


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
