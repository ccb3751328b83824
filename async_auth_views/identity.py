"""An opt-in cache of who a session's user is, with the user's permissions.

Set ``ASYNC_AUTH_IDENTITY_CACHE`` to an alias of ``CACHES``. The resolver then
keeps, per session key, the user the session names (the whole row, with its
model permissions loaded) and the session hash it stored, so a request whose
entry is still valid runs no SQL at all.

An entry is only trusted while the *version tokens* it was stamped with are
still the current ones: one token per user, replaced whenever the user is saved
or deleted or their groups or permissions change, and one for everybody,
replaced whenever a group's or a permission's rows change. Tokens are read
before the database is, so a change that races with filling an entry makes
that entry stale at once; a token evicted from the cache makes every entry that
names it a miss, never a hit. A logout deletes the session's entry, and so does
deleting the session's row. With a shared cache (Redis) all of this holds
across processes; with ``LocMemCache``, only within the process.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from functools import partial
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.crypto import constant_time_compare

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache

    from .resolver import UserType

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 300
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


def identity_cache() -> BaseCache | None:
    """The cache named by ``ASYNC_AUTH_IDENTITY_CACHE``, or None when it is unset."""
    alias = getattr(settings, "ASYNC_AUTH_IDENTITY_CACHE", None)
    if alias is None:
        return None
    if not isinstance(alias, str):
        raise ImproperlyConfigured(
            "ASYNC_AUTH_IDENTITY_CACHE must be the alias of a cache in CACHES (a "
            f"str) or None, not {alias!r}."
        )
    try:
        return caches[alias]
    except InvalidCacheBackendError as exc:
        raise ImproperlyConfigured(
            f"ASYNC_AUTH_IDENTITY_CACHE is {alias!r}, which is not an alias in "
            f"CACHES (which has {', '.join(map(repr, settings.CACHES))})."
        ) from exc


def identity_timeout() -> int:
    """``ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT``: the longest an entry lives, in seconds."""
    timeout = getattr(settings, "ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ImproperlyConfigured(
            "ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT must be a whole number of seconds, "
            f"at least 1, not {timeout!r}."
        )
    return timeout


def is_in_process(cache: BaseCache) -> bool:
    """Whether reading ``cache`` is memory access only, safe inside the event loop."""
    return isinstance(cache, (LocMemCache, DummyCache))


def session_entry_key(session_key: str) -> str:
    # Hashed: a session key must not be readable by whoever can list the cache.
    return f"{_PREFIX}.session.{sha256(session_key.encode()).hexdigest()}"


def user_token_key(user_pk: str) -> str:
    return f"{_PREFIX}.user.{settings.AUTH_USER_MODEL.lower()}.{user_pk}"


def token_keys(user_pk: str) -> list[str]:
    """The keys of the version tokens an entry naming this user is checked against."""
    return [user_token_key(user_pk), EVERYONE]


def _tokens(cache: BaseCache, user_pk: str) -> tuple[str, str] | None:
    """The current (user, everyone) tokens, or None when either is missing."""
    keys = token_keys(user_pk)
    return _current(keys, cache.get_many(keys))


def _current(keys: list[str], found: dict[str, Any]) -> tuple[str, str] | None:
    if len(found) < len(keys):
        return None
    return found[keys[0]], found[keys[1]]


def cached_user(cache: BaseCache, session: SessionBase) -> UserType | None:
    """The session's user from ``cache``, or None for a miss. Never raises.

    A cache that fails is a miss: the caller asks the database instead.
    """
    session_key = session.session_key
    if not session_key:
        return None
    try:
        entry = cache.get(session_entry_key(session_key))
        if not isinstance(entry, Identity):
            return None
        found = cache.get_many(entry_token_keys(entry))
    except Exception:
        logger.warning("The identity cache could not be read.", exc_info=True)
        return None
    return entry_user(entry, found)


def entry_token_keys(entry: Identity) -> list[str]:
    """The keys to read, after ``entry``, to know whether it may be served."""
    return token_keys(_pk_string(entry.user))


def entry_user(entry: Identity, found: dict[str, Any]) -> UserType | None:
    """The user of ``entry`` if it may be served, given the values ``found`` at
    ``entry_token_keys(entry)`` (by key); None when it is stale. No I/O."""
    if _current(entry_token_keys(entry), found) != (
        entry.user_token,
        entry.everyone_token,
    ):
        return None
    if entry.backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    if not constant_time_compare(
        entry.session_hash, entry.user.get_session_auth_hash()
    ):
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


def stamp(cache: BaseCache, session: SessionBase) -> Stamp | None:
    """Read the session and the current tokens, creating missing tokens.

    None when the session names no user or the cache fails: then nothing is
    stored. Call it before resolving the user, and pass it to ``remember()``.
    """
    session_key = session.session_key
    user_pk = session.get(SESSION_KEY)
    backend = session.get(BACKEND_SESSION_KEY)
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_key or user_pk is None or not isinstance(backend, str):
        return None
    try:
        tokens = _tokens(cache, str(user_pk))
        if tokens is None:
            cache.add(user_token_key(str(user_pk)), _new_token(), None)
            cache.add(EVERYONE, _new_token(), None)
            tokens = _tokens(cache, str(user_pk))
    except Exception:
        logger.warning("The identity cache could not be read.", exc_info=True)
        return None
    if tokens is None or not isinstance(session_hash, str):
        return None
    return Stamp(session_key, str(user_pk), backend, session_hash, *tokens)


def remember(
    cache: BaseCache, session: SessionBase, user: UserType, stamp: Stamp | None
) -> None:
    """Store the user ``session`` resolved to, if it is safe to serve it again.

    Only a user that the session named, unchanged by the resolution (same key,
    same stored hash), and whose hash the current ``SECRET_KEY`` gives (not a
    fallback, whose session Django renews) is stored.
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
    entry = Identity(
        user, stamp.backend, stamp.session_hash, stamp.user_token, stamp.everyone_token
    )
    timeout = min(identity_timeout(), session.get_expiry_age())
    try:
        cache.set(session_entry_key(stamp.session_key), entry, timeout)
    except Exception:
        logger.warning("The identity cache could not be written.", exc_info=True)


def forget_session(session_key: str) -> None:
    """Delete the entry of ``session_key``: its session ended."""
    _write(lambda cache: cache.delete(session_entry_key(session_key)))


def forget_user(user_pk: str) -> None:
    """Make every entry naming this user stale, in every session."""
    _write(lambda cache: cache.set(user_token_key(user_pk), _new_token(), None))


def forget_everyone() -> None:
    """Make every entry stale: a group's or a permission's rows changed."""
    _write(lambda cache: cache.set(EVERYONE, _new_token(), None))


def _write(write: Any) -> None:
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


def _new_token() -> str:
    return secrets.token_hex(8)


def _pk_string(user: Any) -> str:
    return str(user._meta.pk.value_to_string(user))


# Receivers ------------------------------------------------------------------


def _logged_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    # Sent before the session is flushed: its key is still there.
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        forget_session(session_key)


def _session_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_session(instance.session_key)


def _user_changed(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # Now and after commit: a request that read the old row between the two
    # stamped its entry with the token that the second write replaces.
    user_pk = _pk_string(instance)
    forget_user(user_pk)
    transaction.on_commit(partial(forget_user, user_pk), using=using)


def _user_relations_changed(
    sender: Any, instance: Any, action: str, reverse: bool, using: str, **kwargs: Any
) -> None:
    if not action.startswith("post_") and action != "pre_clear":
        return
    if not reverse:
        _user_changed(sender, instance, using)
    else:
        _everyone_changed(sender, using=using)


def _everyone_changed(sender: Any, using: str, **kwargs: Any) -> None:
    forget_everyone()
    transaction.on_commit(forget_everyone, using=using)


def connect_receivers() -> None:
    """Connect the receivers that invalidate entries; idempotent.

    Called when the app is ready and whenever the setting is changed (tests),
    so that projects without the cache pay nothing: a ``post_delete`` receiver
    on ``Session`` would turn ``clearsessions`` into a row-by-row delete.
    """
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.contrib.auth.signals import user_logged_out
    from django.db.models.signals import m2m_changed, post_delete, post_save

    uid = f"{__name__}."
    user_model = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid=uid + "logged_out")
    post_save.connect(_user_changed, sender=user_model, dispatch_uid=uid + "user")
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid=uid + "user")
    for name in ("groups", "user_permissions"):
        try:
            through = user_model._meta.get_field(name).remote_field.through  # type: ignore[union-attr]
        except Exception:
            continue  # A user model without PermissionsMixin.
        m2m_changed.connect(
            _user_relations_changed, sender=through, dispatch_uid=uid + name
        )
    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.models import Group, Permission

        everyone = uid + "everyone."
        m2m_changed.connect(
            _everyone_changed,
            sender=Group.permissions.through,
            dispatch_uid=everyone + "group_permissions",
        )
        for model in (Group, Permission):
            for event, signal in (("saved", post_save), ("deleted", post_delete)):
                signal.connect(
                    _everyone_changed,
                    sender=model,
                    dispatch_uid=f"{everyone}{model.__name__}.{event}",
                )
    if apps.is_installed("django.contrib.sessions"):
        from django.contrib.sessions.models import Session

        post_delete.connect(
            _session_deleted, sender=Session, dispatch_uid=uid + "session"
        )


def connect_when_enabled(setting: str, value: Any, **kwargs: Any) -> None:
    """``setting_changed`` receiver: connect the receivers once the cache is set."""
    if setting == "ASYNC_AUTH_IDENTITY_CACHE" and value is not None:
        connect_receivers()
