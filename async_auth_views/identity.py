"""An opt-in cache of who a session's user is, with the user's permissions.

Set ``ASYNC_AUTH_IDENTITY_CACHE`` to an alias of ``CACHES``. The resolver then
keeps, per session key, the user the session names (the whole row, with its
model permissions loaded) and the session hash it stored, so a request whose
entry is still valid runs no SQL at all.

An entry is only trusted while the *version tokens* it was stamped with are
still the current ones: one token per session, replaced when the session ends
(logout, its row deleted, its key cycled by a login); one per user, replaced
whenever the user is saved or deleted or their groups or permissions change;
and one for everybody, replaced whenever a group's or a permission's rows
change. Tokens are read before the database is (the session's before the
session, the user's before the user), so a change that races with filling an
entry makes that entry stale at once; a token evicted from the cache makes
every entry that names it a miss, never a hit. An entry never outlives the
time its session has left, where the session engine can tell it (see
``async_auth_views.session_engines``). With a shared cache (Redis) all of this holds
across processes; with ``LocMemCache``, only within the process. Which
signals replace which token is decided in ``async_auth_views.changes``.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from . import conf
from .session_engines import load_with_expiry, seconds_left

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache

    from .identity_redis import RedisReader
    from .resolver import UserType

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: int = conf.IDENTITY_CACHE_TIMEOUT.default
_PREFIX = "async_auth_views.identity"
#: The token every entry carries; replaced when any group or permission changes.
EVERYONE = f"{_PREFIX}.everyone"


@dataclass(frozen=True)
class Identity:
    """One cache entry: the session's user and what it was checked against."""

    user: Any
    backend: str
    session_hash: str
    user_token: str
    everyone_token: str
    session_token: str = ""
    #: When the session ends at the latest; None when its engine cannot tell.
    expires_at: datetime.datetime | None = None
    #: Where the session's token is (named by the session key's hash).
    session_token_key: str = ""


def identity_cache() -> BaseCache | None:
    """The cache named by ``ASYNC_AUTH_IDENTITY_CACHE``, or None when it is unset."""
    return conf.identity_cache()


def identity_timeout() -> int:
    """``ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT``: the longest an entry lives, in seconds."""
    return conf.identity_cache_timeout()


def is_in_process(cache: BaseCache) -> bool:
    """Whether reading ``cache`` is memory access only, safe inside the event loop."""
    return isinstance(cache, (LocMemCache, DummyCache))


def session_entry_key(session_key: str) -> str:
    # Hashed: a session key must not be readable by whoever can list the cache.
    return f"{_PREFIX}.session.{_digest(session_key)}"


def session_token_key(session_key: str) -> str:
    return f"{_PREFIX}.session-token.{_digest(session_key)}"


def entry_token_pointer_key(session_key: str) -> str:
    """Where a Redis entry's user-token key is named, beside the entry, so that
    a hit is read in one round trip (see ``async_auth_views.identity_redis``)."""
    return f"{_PREFIX}.session-user-token.{_digest(session_key)}"


def user_token_key(user_pk: str) -> str:
    return f"{_PREFIX}.user.{settings.AUTH_USER_MODEL.lower()}.{user_pk}"


def _digest(session_key: str) -> str:
    return sha256(session_key.encode()).hexdigest()


def _session_token_timeout() -> int:
    # Longer than any entry stamped with it lives; once it expires, entries
    # that name it are misses, so it need not live forever (one per session).
    return 2 * identity_timeout()


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


def cached_identity(cache: BaseCache, session: SessionBase) -> Identity | None:
    """The session's valid entry in ``cache``, or None for a miss. Never raises.

    A cache that fails is a miss: the caller asks the database instead. A
    Redis cache is read in one round trip (``identity_redis``), judged alike.
    """
    session_key = session.session_key
    if not session_key:
        return None
    reader = _redis_reader(cache)
    if reader is not None:
        return reader.cached_identity(session)
    try:
        entry = cache.get(session_entry_key(session_key))
        if not isinstance(entry, Identity):
            return None
        found = cache.get_many(entry_token_keys(entry))
    except Exception:
        logger.warning("The identity cache could not be read.", exc_info=True)
        return None
    return entry if entry_user(entry, found) is not None else None


def entry_token_keys(entry: Identity) -> list[str]:
    """The keys to read, after ``entry``, to know whether it may be served."""
    return [entry_user_token_key(entry), EVERYONE, entry.session_token_key]


def entry_user_token_key(entry: Identity) -> str:
    """The key of the token of the user ``entry`` serves."""
    return user_token_key(_pk_string(entry.user))


def entry_user(entry: Identity, found: dict[str, Any]) -> UserType | None:
    """The user of ``entry`` if it may be served, given the values ``found`` at
    ``entry_token_keys(entry)`` (by key); None when it is stale. No I/O."""
    keys = entry_token_keys(entry)
    if not entry.session_token_key or any(key not in found for key in keys):
        return None  # A missing token is a miss, never a match.
    tokens = [found[key] for key in keys]
    if tokens != [entry.user_token, entry.everyone_token, entry.session_token]:
        return None
    if entry.expires_at is not None and entry.expires_at <= timezone.now():
        return None
    if entry.backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    if not constant_time_compare(
        entry.session_hash, entry.user.get_session_auth_hash()
    ):
        return None
    user: UserType = entry.user
    return user


def cached_user(cache: BaseCache, session: SessionBase) -> UserType | None:
    """The session's user from ``cache``, or None for a miss. Never raises."""
    entry = cached_identity(cache, session)
    if entry is None:
        return None
    user: UserType = entry.user
    return user


@dataclass(frozen=True)
class Stamp:
    """What the session and the tokens said *before* the database was read."""

    session_key: str
    user_pk: str
    backend: str
    session_hash: str
    user_token: str
    everyone_token: str
    session_token: str = ""
    expires_at: datetime.datetime | None = None


def stamp(cache: BaseCache, session: SessionBase) -> Stamp | None:
    """Read the tokens and the session, in that order, creating missing tokens.

    The session's token (and everyone's) is read before the session is loaded,
    and the user's before the user is: a logout or a change that lands in
    between replaces a token this stamp already holds. None when the session
    names no user, was loaded before (its data may predate the tokens), or the
    cache fails: then nothing is stored. Call it before resolving the user,
    and pass it to ``remember()``.
    """
    session_key = session.session_key
    if not session_key or hasattr(session, "_session_cache"):
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
    user_pk = session.get(SESSION_KEY)
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
        user_token = _tokens_creating(cache, [user_token_key(str(user_pk))], [None])
    except Exception:
        logger.warning("The identity cache could not be read.", exc_info=True)
        return None
    if user_token is None:
        return None
    session_token, everyone_token = first
    return Stamp(
        session_key,
        str(user_pk),
        backend,
        session_hash,
        user_token[0],
        everyone_token,
        session_token,
        expires_at,
    )


def remember(
    cache: BaseCache, session: SessionBase, user: UserType, stamp: Stamp | None
) -> None:
    """Store the user ``session`` resolved to, if it is safe to serve it again.

    Only a user that the session named, unchanged by the resolution (same key,
    same stored hash), and whose hash the current ``SECRET_KEY`` gives (not a
    fallback, whose session Django renews) is stored, for no longer than the
    session has left.
    """
    if stamp is None or not user.is_authenticated:
        return
    if (
        session.session_key != stamp.session_key
        or session.get(HASH_SESSION_KEY) != stamp.session_hash
        or _pk_string(user) != stamp.user_pk
        or not constant_time_compare(stamp.session_hash, user.get_session_auth_hash())
    ):
        return
    timeout = identity_timeout()
    left = seconds_left(stamp.expires_at)
    if left is not None:
        timeout = min(timeout, int(left))
    if timeout < 1:
        return
    entry = Identity(
        user,
        stamp.backend,
        stamp.session_hash,
        stamp.user_token,
        stamp.everyone_token,
        stamp.session_token,
        stamp.expires_at,
        session_token_key(stamp.session_key),
    )
    try:
        reader = _redis_reader(cache)
        if reader is None:
            cache.set(session_entry_key(stamp.session_key), entry, timeout)
        else:
            reader.remember(stamp.session_key, entry, timeout)
    except Exception:
        logger.warning("The identity cache could not be written.", exc_info=True)


def forget_session(session_key: str) -> None:
    """End the entry of ``session_key``: its session ended.

    The session's token is replaced, so an entry being filled right now by a
    request of that session is stale when written; the entry is deleted too.
    """

    def write(cache: BaseCache) -> None:
        cache.set(
            session_token_key(session_key), _new_token(), _session_token_timeout()
        )
        cache.delete(session_entry_key(session_key))

    _write(write)


def forget_user(user_pk: str) -> None:
    """Make every entry naming this user stale, in every session."""
    _write(lambda cache: cache.set(user_token_key(user_pk), _new_token(), None))


def forget_everyone() -> None:
    """Make every entry stale: a group's or a permission's rows changed."""
    _write(lambda cache: cache.set(EVERYONE, _new_token(), None))


def _write(write: Callable[[BaseCache], None]) -> None:
    cache = identity_cache()
    if cache is None:
        return
    try:
        write(cache)
    except Exception:
        # The change itself stands; its entries expire with the timeout.
        logger.error(
            "The identity cache could not be invalidated: entries may be served "
            "for up to ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT seconds.",
            exc_info=True,
        )


def _redis_reader(cache: BaseCache) -> RedisReader | None:
    # Imported here: identity_redis is built on this module.
    from .identity_redis import redis_reader

    return redis_reader(cache)


def _new_token() -> str:
    return secrets.token_hex(8)


def _pk_string(user: Any) -> str:
    return user_pk_string(user)


def user_pk_string(user: Any) -> str:
    """The user's primary key as the session stores it, for the user model's
    own rows and for a proxy, a multi-table child or a parent of it alike."""
    from django.contrib.auth import get_user_model

    model = get_user_model()
    if isinstance(user, model):
        return str(model._meta.pk.value_to_string(user))
    return str(user.pk)  # A multi-table parent: its pk is the user's.


def connect_receivers() -> None:
    """Connect the receivers that invalidate entries; idempotent. See
    ``async_auth_views.changes.connect_receivers()``."""
    from .changes import connect_receivers as connect

    connect()


def connect_when_enabled(setting: str, value: Any, **kwargs: Any) -> None:
    """``setting_changed`` receiver: connect the receivers once the cache is set."""
    if setting == "ASYNC_AUTH_IDENTITY_CACHE" and value is not None:
        connect_receivers()
