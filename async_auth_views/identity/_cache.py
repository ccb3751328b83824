"""An opt-in cache of who a session's user is, with the user's permissions.

Set ``ASYNC_AUTH_IDENTITY_CACHE`` to an alias of ``CACHES``. The resolver then
keeps, per session key, the user the session names (the whole row, with its
model permissions loaded) and the session hash it stored, so a request whose
entry is still valid runs no SQL at all.

An entry is only trusted while the *version tokens* it was stamped with are
still the current ones: one token per session, deleted when the session ends
(logout, its row deleted, its key cycled by a login); one per user, deleted
whenever the user is saved or deleted or their groups or permissions change;
and one for everybody, deleted whenever a group's or a permission's rows
change. A missing token is created anew (random) by the next request, so a
token once deleted never comes back. Tokens are read before the database is
(the session's before the session, the user's before the user), so a change
that races with filling an entry makes that entry stale at once; a token
evicted from the cache makes every entry that names it a miss, never a hit.
Invalidation only deletes, which a full store still does, and a deletion the
store could not make is owed: this process makes it before it reads the cache
again (see ``settled()``). An entry never outlives the time its session has
left, where the session engine can tell it (see
``async_auth_views.session_engines``). With a shared cache (Redis) all of this
holds across processes; with ``LocMemCache``, only within the process. Which
signals delete which token is decided in ``async_auth_views.changes``.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from .. import conf
from ._engines import load_with_expiry, seconds_left

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache

    from .._types import UserType
    from ._redis import RedisReader

logger = logging.getLogger("async_auth_views.identity")

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


def user_token_key(user_pk: Any) -> str:
    """Where the token of the user whose primary key is ``user_pk`` (in any form
    its field accepts, or a user instance) is."""
    return (
        f"{_PREFIX}.user.{settings.AUTH_USER_MODEL.lower()}.{user_pk_string(user_pk)}"
    )


def _digest(session_key: str) -> str:
    return sha256(session_key.encode()).hexdigest()


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


def cached_identity(cache: BaseCache, session: SessionBase) -> Identity | None:
    """The session's valid entry in ``cache``, or None for a miss. Never raises.

    A cache that fails is a miss: the caller asks the database instead; so is
    a cache this process owes a deletion it could not make yet (see
    ``settled()``). A Redis cache is read in one round trip
    (``identity_redis``), judged alike.
    """
    session_key = session.session_key
    if not session_key or not settled(cache):
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
    return user_token_key(entry.user)


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
    between deletes a token this stamp already holds. None when the session
    names no user, was loaded before (its data may predate the tokens), the
    cache fails, or this process owes it a deletion: then nothing is stored.
    Call it before resolving the user, and pass it to ``remember()``.
    """
    session_key = session.session_key
    if not session_key or hasattr(session, "_session_cache") or _owed:
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
    return Stamp(
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
    cache: BaseCache, session: SessionBase, user: UserType, stamp: Stamp | None
) -> None:
    """Store the user ``session`` resolved to, if it is safe to serve it again.

    Only a user that the session named, unchanged by the resolution (same key,
    same stored hash), and whose hash the current ``SECRET_KEY`` gives (not a
    fallback, whose session Django renews) is stored, for no longer than the
    session has left; nothing while this process owes the cache a deletion.
    """
    if stamp is None or not user.is_authenticated or _owed:
        return
    if (
        session.session_key != stamp.session_key
        or session.get(HASH_SESSION_KEY) != stamp.session_hash
        or _pk_string(user) != stamp.user_pk
        or not constant_time_compare(stamp.session_hash, user.get_session_auth_hash())
    ):
        return
    timeout = conf.identity_cache_timeout()
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


# Invalidation deletes, and writes nothing: a deletion is what a full store
# still performs (Redis at maxmemory under noeviction refuses writes, not
# DEL), and a token deleted is never seen again, as a token replaced is not.
# A deletion that fails (the store is down, or slower than its timeout) is
# owed: this process deletes it before it reads or fills the cache again,
# and neither reads nor fills it until then.

#: The keys whose deletion is owed, each with the number of the invalidation
#: that last asked for it (a key asked for again meanwhile stays owed).
_owed: dict[str, int] = {}
#: Past this many owed keys (a long outage), everyone's token alone is owed:
#: deleting it makes every entry a miss, whatever the keys owed said.
MAX_OWED = 10_000
_owed_lock = threading.Lock()
_invalidations = itertools.count(1)


def _owe_another_cache_nothing(setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: what was owed, was owed to the cache before."""
    if setting in ("CACHES", "ASYNC_AUTH_IDENTITY_CACHE"):
        with _owed_lock:
            _owed.clear()


setting_changed.connect(_owe_another_cache_nothing, dispatch_uid=f"{__name__}.owed")


def _forget(keys: Sequence[str]) -> None:
    cache = conf.identity_cache()
    if cache is None:
        return
    number = next(_invalidations)
    with _owed_lock:
        _owed.update(dict.fromkeys(keys, number))
        if len(_owed) > MAX_OWED:
            _owed.clear()
            _owed[EVERYONE] = number
    try:
        _pay(cache)
    except Exception:
        logger.error(
            "The identity cache could not be invalidated: this process reads "
            "it again once it can; other processes may serve the entries for "
            "up to ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT seconds.",
            exc_info=True,
        )


def owed() -> dict[str, int]:
    """The deletions this process owes the cache (a copy): each key, with the
    number of the invalidation that last asked for it."""
    with _owed_lock:
        return dict(_owed)


def paid(deleted: dict[str, int]) -> None:
    """Record that the keys of ``deleted`` (an ``owed()``) were deleted."""
    with _owed_lock:
        for key, number in deleted.items():
            if _owed.get(key) == number:
                del _owed[key]


def _pay(cache: BaseCache) -> None:
    """Delete what is owed; raises if the cache fails."""
    keys = owed()
    if keys:
        cache.delete_many(list(keys))
        paid(keys)


def settled(cache: BaseCache) -> bool:
    """Whether this process owes ``cache`` no deletion, once it tried to pay
    what it owes. Never raises: a cache that fails is logged."""
    if not _owed:
        return True
    try:
        _pay(cache)
    except Exception:
        logger.warning(
            "The identity cache could not be invalidated: it is not read.",
            exc_info=True,
        )
        return False
    return True


def _redis_reader(cache: BaseCache) -> RedisReader | None:
    # Imported here: identity._redis is built on this module.
    from ._redis import redis_reader

    return redis_reader(cache)


def _new_token() -> str:
    return secrets.token_hex(8)


def _pk_string(user: Any) -> str:
    return user_pk_string(user)


def user_pk_string(user: Any) -> str:
    """The one string that names a user in tokens, entries and socket groups.

    ``user`` is an instance of the user model, of a proxy, a multi-table child
    or a parent of it, or a primary key in any form the user model's primary
    key field accepts (a ``UUID``, its str in capitals or as bare hex, an int
    or its str): each goes through the field's ``to_python()``, so every form
    names the same user. Raises ``ValidationError`` for a value the field
    refuses.
    """
    from django.contrib.auth import get_user_model
    from django.db.models import Model

    value = user.pk if isinstance(user, Model) else user
    pk_field = get_user_model()._meta.pk
    assert pk_field is not None
    return str(pk_field.to_python(value))


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
