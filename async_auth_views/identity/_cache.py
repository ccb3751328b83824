"""Reading, filling and invalidating the identity cache.

Private to ``async_auth_views.identity``. An entry is served only while the
version tokens it was stamped with are current; invalidation deletes tokens,
and a deletion that failed is owed (``_owed``). The design, and why each
read comes before which, is in docs/internals.rst ("The identity cache").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache

from .. import conf
from ._entries import (
    EVERYONE,
    CacheRead,
    Entry,
    entry_token_keys,
    entry_token_pointer_key,
    entry_user,
    logger,
    session_entry_key,
    session_token_key,
    user_token_key,
)
from ._owed import owe, pay, settled
from ._redis import RedisReader, redis_reader

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache


def is_in_process(cache: BaseCache) -> bool:
    """Whether reading ``cache`` is memory access only, safe inside the event loop."""
    return isinstance(cache, (LocMemCache, DummyCache))


class _DjangoReader:
    """Reads (and writes the entries of) the cache through Django's cache API,
    in two round trips: the entry, then the tokens it names."""

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache
        #: Reading is memory access only: safe in the event loop, no thread hop.
        self.in_loop = is_in_process(cache)
        #: So is filling an entry (asnapshot(), aremember()).
        self.fills_in_loop = self.in_loop

    def read(self, session: SessionBase) -> CacheRead:
        """The session's valid entry, or a miss. Never raises: a failing cache
        is a miss, marked as failed."""
        session_key = session.session_key
        if not session_key or not settled(self.cache):
            return CacheRead()
        try:
            entry = self.cache.get(session_entry_key(session_key))
            if not isinstance(entry, Entry):
                return CacheRead()
            found = self.cache.get_many(entry_token_keys(entry))
        except Exception:
            logger.warning("The identity cache could not be read.", exc_info=True)
            return CacheRead(failed=True)
        return CacheRead(entry if entry_user(entry, found) is not None else None)

    async def aread(self, session: SessionBase) -> CacheRead:
        """See read(); in the event loop when ``in_loop``, else in a thread."""
        if self.in_loop:
            return self.read(session)
        return await sync_to_async(self.read)(session)

    def write(self, session_key: str, entry: Entry, timeout: int) -> None:
        """Store ``entry``; raises if the cache fails."""
        self.cache.set(session_entry_key(session_key), entry, timeout)

    # A fill's primitives from the event loop (asnapshot(), aremember()):
    # memory access when in_loop, else Django's async API.

    async def aget_many(self, keys: Sequence[str]) -> dict[str, Any]:
        if self.in_loop:
            return self.cache.get_many(keys)
        return await self.cache.aget_many(keys)

    async def aadd(self, key: str, value: Any, timeout: int | None) -> bool:
        if self.in_loop:
            return self.cache.add(key, value, timeout)
        return await self.cache.aadd(key, value, timeout)

    async def awrite(self, session_key: str, entry: Entry, timeout: int) -> None:
        if self.in_loop:
            self.write(session_key, entry, timeout)
        else:
            await sync_to_async(self.write)(session_key, entry, timeout)


Reader = _DjangoReader | RedisReader


def reader_for(cache: BaseCache) -> Reader:
    """The one choice of how ``cache`` is read and written: in one round trip
    (also from the event loop) for a Redis cache that allows it, else through
    Django's cache API."""
    return redis_reader(cache) or _DjangoReader(cache)


def cached_entry(cache: BaseCache, session: SessionBase) -> CacheRead:
    """The session's valid entry in ``cache``, or a miss. Never raises.

    A cache that fails is a miss (the caller asks the database instead); so is
    a cache this process owes a deletion it could not make yet.
    """
    return reader_for(cache).read(session)


async def acached_entry(cache: BaseCache, session: SessionBase) -> CacheRead:
    """See cached_entry(). No thread hop when ``reader_for(cache).in_loop``."""
    return await reader_for(cache).aread(session)


def forget_session(session_key: str) -> None:
    """End the entry of ``session_key``: its session ended.

    The entry, its pointer and the session's token are deleted: an entry being
    filled right now by a request of that session names a token that is gone,
    and is never served (the next request creates another token).
    """
    _forget(
        [
            session_entry_key(session_key),
            entry_token_pointer_key(session_key),
            session_token_key(session_key),
        ]
    )


def forget_user(user_pk: str) -> None:
    """Make every entry naming this user stale, in every session."""
    _forget([user_token_key(user_pk)])


def forget_everyone() -> None:
    """Make every entry stale: a group's or a permission's rows changed."""
    _forget([EVERYONE])


def _forget(keys: Sequence[str]) -> None:
    """Delete ``keys``, or owe their deletion when the cache fails."""
    cache = conf.identity_cache()
    if cache is None:
        return
    owe(keys)
    try:
        pay(cache)
    except Exception:
        logger.error(
            "The identity cache could not be invalidated: this process reads "
            "it again once it can; other processes may serve the entries for "
            "up to ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT seconds.",
            exc_info=True,
        )
