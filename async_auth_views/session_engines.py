"""What each of Django's session engines can tell about a session's end.

The identity cache and open sockets must never outlive a session. How long a
session has left, and whether its end is signalled, depends on where the
engine keeps it: a ``db`` or ``cached_db`` session is a row with an
``expire_date`` whose deletion sends ``post_delete``; a ``file`` session is a
file whose age is its modification time; a ``cache`` or ``signed_cookies``
session can say neither. This module says so once, for the resolver, the
sockets and the system checks.
"""

from __future__ import annotations

import datetime
from typing import Any, cast

from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone
from django.utils.functional import LazyObject, empty

DB = "django.contrib.sessions.backends.db"
CACHED_DB = "django.contrib.sessions.backends.cached_db"
CACHE = "django.contrib.sessions.backends.cache"
FILE = "django.contrib.sessions.backends.file"
SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"

#: What an engine cannot guarantee, by the engine's import path; an engine not
#: listed (``db``, ``cached_db``) guarantees everything.
LIMITS: dict[str, tuple[str, ...]] = {
    CACHE: (
        "a session ended without logout() (flush(), cycle_key(), deleting its "
        "cache key) sends no signal",
        "the time a session has left is not known",
    ),
    FILE: (
        "a session ended without logout() (flush(), cycle_key(), deleting its "
        "file) sends no signal",
        "an expiry moved earlier with set_expiry() sends no signal",
    ),
    SIGNED_COOKIES: (
        "a session lives in the browser's cookie and cannot be ended on the "
        "server: a copy of the cookie stays valid after logout() until it expires",
        "the time a session has left is not known",
    ),
}


def concrete(session: SessionBase) -> SessionBase:
    """The session store itself, out of the lazy objects it may be handed over in.

    Channels' ``SessionMiddleware`` puts a ``LazyObject`` in ``scope["session"]``,
    and a project's middleware may wrap ``request.session`` in a
    ``SimpleLazyObject``. Reading through them works, but ``type()`` sees the
    wrapper: any code that inspects a session's class asks this first.
    """
    found: Any = session
    while issubclass(type(found), LazyObject):
        if found._wrapped is empty:
            found._setup()
        found = found._wrapped
    store: SessionBase = found
    return store


def expires_at(session: SessionBase) -> datetime.datetime | None:
    """When ``session`` ends at the latest, as its engine stores it; None when unknown.

    A session that is gone (no row) has already ended: the current time is
    returned. Reads the database for ``db`` and ``cached_db`` sessions that
    the resolver did not load itself (see ``load_with_expiry()``).
    """
    from django.contrib.sessions.backends.db import SessionStore as DbStore
    from django.contrib.sessions.backends.file import SessionStore as FileStore

    session = concrete(session)
    if isinstance(session, DbStore):
        if session.session_key is None:
            return timezone.now()
        expiry: datetime.datetime | None = (
            session.model.objects.filter(session_key=session.session_key)
            .values_list("expire_date", flat=True)
            .first()
        )
        return expiry or timezone.now()
    if isinstance(session, FileStore):
        try:
            modified = cast(Any, session)._last_modification()
        except OSError:
            return timezone.now()
        # Django's file engine counts whole seconds: with less than one left,
        # the session is expired.
        return session.get_expiry_date(modification=modified) - datetime.timedelta(
            seconds=1
        )
    return _absolute_expiry(session)


def load_with_expiry(session: SessionBase) -> datetime.datetime | None:
    """Load ``session`` (if it is not yet) and return ``expires_at(session)``.

    A plain ``db`` session is loaded from the row that carries its expiry, in
    one query instead of two; any other engine is loaded as usual.
    """
    from django.contrib.sessions.backends.db import SessionStore as DbStore

    session = concrete(session)
    store: Any = session
    cls: Any = type(session)
    if (
        not hasattr(store, "_session_cache")
        and isinstance(session, DbStore)
        and cls.load is DbStore.load
        and cls._get_session_from_db is getattr(DbStore, "_get_session_from_db", None)
    ):
        # DbStore.load(), keeping the row's expire_date it throws away.
        row = store._get_session_from_db()
        store._session_cache = store.decode(row.session_data) if row else {}
        return row.expire_date if row else timezone.now()
    session._get_session()  # type: ignore[attr-defined]
    return expires_at(session)


def seconds_left(when: datetime.datetime | None) -> float | None:
    """Seconds until ``when`` (negative once passed); None when ``when`` is None."""
    if when is None:
        return None
    return (when - timezone.now()).total_seconds()


def _absolute_expiry(session: SessionBase) -> datetime.datetime | None:
    """An expiry set with ``set_expiry(datetime)``, which every engine honours."""
    expiry = session.get("_session_expiry")
    if isinstance(expiry, (datetime.datetime, str)):
        return session.get_expiry_date()
    return None


def limits(engine: str) -> tuple[str, ...]:
    """What ``engine`` (a ``SESSION_ENGINE`` path) cannot guarantee; () for none."""
    return LIMITS.get(engine, ())


__all__ = [
    "LIMITS",
    "concrete",
    "expires_at",
    "limits",
    "load_with_expiry",
    "seconds_left",
]
