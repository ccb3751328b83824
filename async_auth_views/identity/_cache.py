"""Reading, filling and invalidating the identity cache.

Private to ``async_auth_views.identity``. An entry is served only while the
version tokens it was stamped with are current; invalidation deletes tokens,
and a deletion that failed is owed (``_owed``). The design, and why each
read comes before which, is in docs/internals.rst ("The identity cache").
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.utils.crypto import constant_time_compare

from .. import conf
from ._engines import load_with_expiry, seconds_left
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
    user_pk_string,
    user_token_key,
)
from ._owed import owe, owes, pay, settled
from ._redis import RedisReader, redis_reader

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache

    from .._types import UserType


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


def reader_for(cache: BaseCache) -> _DjangoReader | RedisReader:
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


def _session_token_timeout() -> int:
    # Longer than any entry stamped with it lives; once it expires, entries
    # that name it are misses, so it need not live forever (one per session).
    return 2 * conf.identity_cache_timeout()


def _tokens(cache: BaseCache, keys: Sequence[str]) -> list[str] | None:
    """The current tokens under ``keys``, or None when any is missing."""
    found = cache.get_many(keys)
    if len(found) < len(keys):
        return None
    return [found[key] for key in keys]


def _tokens_creating(
    cache: BaseCache, keys: Sequence[str], timeouts: Sequence[int | None]
) -> list[str] | None:
    """See _tokens(); creates the missing ones first (``add()``: never replaces)."""
    tokens = _tokens(cache, keys)
    if tokens is None:
        for key, timeout in zip(keys, timeouts, strict=True):
            cache.add(key, _new_token(), timeout)
        tokens = _tokens(cache, keys)
    return tokens


def _new_token() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Snapshot:
    """What the session and the tokens said *before* the database was read."""

    session_key: str
    user_pk: str
    backend: str
    session_hash: str
    user_token: str
    everyone_token: str
    session_token: str = ""
    expires_at: datetime.datetime | None = None


def snapshot(cache: BaseCache, session: SessionBase) -> Snapshot | None:
    """Read the tokens and the session, in that order, creating missing tokens.

    The session's token (and everyone's) is read before the session is loaded,
    and the user's before the user is: a logout or a change that lands in
    between deletes a token this snapshot already holds. None when the session
    names no user, was loaded before (its data may predate the tokens), the
    cache fails, or this process owes it a deletion: then nothing is stored.
    Take it before resolving the user, and pass it to ``remember()``.
    """
    session_key = session.session_key
    if not session_key or hasattr(session, "_session_cache") or owes():
        return None
    try:
        first = _tokens_creating(
            cache,
            [session_token_key(session_key), EVERYONE],
            [_session_token_timeout(), None],
        )
    except Exception:
        logger.warning("The identity cache could not be read.", exc_info=True)
        return None
    expires_at = load_with_expiry(session)
    user_pk = _session_user_pk(session)
    backend = session.get(BACKEND_SESSION_KEY)
    session_hash = session.get(HASH_SESSION_KEY)
    if (
        first is None
        or session.session_key != session_key
        or user_pk is None
        or not isinstance(backend, str)
        or not isinstance(session_hash, str)
    ):
        return None
    try:
        user_token = _tokens_creating(cache, [user_token_key(user_pk)], [None])
    except Exception:
        logger.warning("The identity cache could not be read.", exc_info=True)
        return None
    if user_token is None:
        return None
    session_token, everyone_token = first
    return Snapshot(
        session_key,
        user_pk,
        backend,
        session_hash,
        user_token[0],
        everyone_token,
        session_token,
        expires_at,
    )


def remember(
    cache: BaseCache, session: SessionBase, user: UserType, before: Snapshot | None
) -> None:
    """Store the user ``session`` resolved to, if it is safe to serve it again.

    Only a user that the session named, unchanged by the resolution (same key,
    same stored hash), and whose hash the current ``SECRET_KEY`` gives (not a
    fallback, whose session Django renews) is stored, for no longer than the
    session has left; nothing while this process owes the cache a deletion.
    """
    if before is None or not user.is_authenticated or owes():
        return
    if (
        session.session_key != before.session_key
        or session.get(HASH_SESSION_KEY) != before.session_hash
        or user_pk_string(user) != before.user_pk
        or not constant_time_compare(before.session_hash, user.get_session_auth_hash())
    ):
        return
    timeout = conf.identity_cache_timeout()
    left = seconds_left(before.expires_at)
    if left is not None:
        timeout = min(timeout, int(left))
    if timeout < 1:
        return
    entry = Entry(
        user,
        before.backend,
        before.session_hash,
        before.user_token,
        before.everyone_token,
        before.session_token,
        before.expires_at,
        session_token_key(before.session_key),
    )
    try:
        reader_for(cache).write(before.session_key, entry, timeout)
    except Exception:
        logger.warning("The identity cache could not be written.", exc_info=True)


def _session_user_pk(session: SessionBase) -> str | None:
    """The user's key the session names, as ``user_pk_string()`` gives it; None
    when it names none, or a value the user model's key field refuses (then
    Django's ``get_user()`` decides, and nothing is stored)."""
    from django.core.exceptions import ValidationError

    value = session.get(SESSION_KEY)
    if value is None:
        return None
    try:
        return user_pk_string(value)
    except ValidationError:
        return None


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
