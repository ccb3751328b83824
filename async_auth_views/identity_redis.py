"""Identity-cache reads on the event loop, for a cache in Redis.

Django's cache API is synchronous, so reading an identity cache in Redis
through it costs a thread hop per request, hit or miss. For a
``django.core.cache.backends.redis.RedisCache`` this module reads the same
keys with redis-py's asyncio client instead, on the event loop: the cache's
own ``make_key()`` (``KEY_PREFIX``, ``VERSION``, ``KEY_FUNCTION``), its own
serializer, its servers (reads go where Django's client sends them) and its
``OPTIONS``. What an entry is, and when it may be served, is decided by
``identity.py``; only the two reads are here. Writes (filling an entry,
invalidation) stay with Django's client.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from .identity import (
    Identity,
    entry_token_keys,
    entry_user,
    logger,
    session_entry_key,
)

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

    from .resolver import UserType

#: OPTIONS that name sync redis-py classes, which the asyncio client cannot use.
_SYNC_ONLY_OPTIONS = ("pool_class", "parser_class")
#: OPTIONS that Django's client takes for itself; the rest go to the pool.
_CLIENT_OPTIONS = ("serializer", *_SYNC_ONLY_OPTIONS)


@dataclass(frozen=True)
class Lookup:
    """What reading the cache found: the user of a valid entry, or a miss."""

    user: UserType | None
    #: The cache could not be read (and that was logged): do not fill it now.
    failed: bool = False
    #: When the entry's session ends; None when its engine cannot tell.
    expires_at: datetime.datetime | None = None

    @classmethod
    def of(cls, entry: Identity | None) -> Lookup:
        """The lookup that found ``entry`` (a valid one, or None)."""
        if entry is None:
            return cls(None)
        return cls(entry.user, expires_at=entry.expires_at)


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
    """Reads an identity cache in Redis from the event loop.

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

    async def _client(self) -> Any:
        import redis.asyncio

        # The server Django's client would read from (a replica, when several).
        index = self._django_client._get_connection_pool_index(False)  # type: ignore[attr-defined]
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

    def _loads(self, value: bytes | None) -> Any:
        if value is None:
            return None
        return self._django_client._serializer.loads(value)  # type: ignore[attr-defined]

    async def acached_user(self, session: SessionBase) -> Lookup:
        """See identity.cached_user(). Never raises: a failing cache is a miss."""
        session_key = session.session_key
        if not session_key:
            return Lookup(None)
        make_key = self.cache.make_and_validate_key
        try:
            client = await self._client()
            entry = self._loads(
                await client.get(make_key(session_entry_key(session_key)))
            )
            if not isinstance(entry, Identity):
                return Lookup(None)
            keys = entry_token_keys(entry)
            values = await client.mget([make_key(key) for key in keys])
            found = {
                key: self._loads(value)
                for key, value in zip(keys, values, strict=True)
                if value is not None
            }
        except Exception:
            logger.warning("The identity cache could not be read.", exc_info=True)
            return Lookup(None, failed=True)
        return Lookup(entry_user(entry, found), expires_at=entry.expires_at)


def redis_reader(cache: object) -> RedisReader | None:
    """A reader for ``cache`` when it is a Redis cache the asyncio client can read
    as Django's client does; None otherwise (then it is read in a thread)."""
    if not isinstance(cache, RedisCache):
        return None
    cls = type(cache)
    if (
        cache._class is not RedisCacheClient  # type: ignore[attr-defined]
        or cls.get is not RedisCache.get
        or cls.get_many is not RedisCache.get_many
        or any(option in cache._options for option in _SYNC_ONLY_OPTIONS)  # type: ignore[attr-defined]
    ):
        return None  # A custom client, or reads that do more than Django's.
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        return None
    return RedisReader(cache)
