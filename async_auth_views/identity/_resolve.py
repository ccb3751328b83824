"""The session-level pair: who the user a session names is.

Private to ``async_auth_views.identity``, which exports the pair. Django's own
``get_user()`` decides, run once in a thread; a valid identity-cache entry
answers instead, confirmed by the session's backend (docs/internals.rst,
"One resolution").
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from asgiref.sync import sync_to_async
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser

from .. import conf
from ..groups import load_group_names
from ..permissions import load_permissions
from ._backends import confirmed_user, confirms_in_loop, refuse_async_hooks
from ._cache import cached_entry, reader_for
from ._engines import load_with_expiry
from ._fill import remember, snapshot
from ._native import aresolve_native, aresolve_native_filling

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache

    from .._types import UserType
    from ._entries import Entry


class Resolution(NamedTuple):
    """The user a session names, and when the session ends at the latest."""

    user: UserType
    #: None unless asked for (``with_expiry``), when the engine cannot tell, or
    #: for an anonymous user.
    expires_at: datetime.datetime | None


class _SessionOnly:
    """The one part of a request that ``django.contrib.auth.get_user()`` reads."""

    __slots__ = ("session",)

    def __init__(self, session: SessionBase | _KeyKept) -> None:
        self.session = session


class _KeyKept:
    """A session whose key ``get_user()`` may not cycle.

    When ``SECRET_KEY_FALLBACKS`` verifies an old session hash, Django cycles the
    session key and deletes the old row. A WebSocket cannot send the browser the
    new cookie, so cycling would log the user out in mid-rotation; the hash is
    still refreshed in memory, and the next HTTP request cycles the key.
    """

    def __init__(self, session: SessionBase) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def __getitem__(self, key: str) -> Any:
        return self._session[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._session[key] = value

    def cycle_key(self) -> None:
        pass


def may_name_user(session: SessionBase) -> bool:
    """Whether the session may name a user; False is certain and costs no I/O.

    A key with a NUL character names no stored session: Django never makes
    one, and PostgreSQL refuses it in a query (``DataError``, a 500 on every
    page, public ones included, where SQLite finds no row).
    """
    loaded = getattr(session, "_session_cache", None)
    if loaded is not None:
        return SESSION_KEY in loaded
    key = session.session_key
    return key is not None and "\x00" not in key


def resolve_session(
    session: SessionBase,
    *,
    can_set_cookie: bool = True,
    with_permissions: bool = False,
    with_groups: bool = False,
    with_expiry: bool = False,
) -> Resolution:
    """The user the session names, or ``AnonymousUser``, as Django's ``get_user()`` says.

    ``can_set_cookie=False`` where the response cannot carry a new session
    cookie (a WebSocket): the session key is never cycled.
    ``with_permissions``/``with_groups`` load the user's model permissions /
    group names in the same call (one statement each) when a check follows.
    ``with_expiry`` also says when the session ends (a query for a ``cached_db``
    session). With ``ASYNC_AUTH_IDENTITY_CACHE`` set, a valid entry answers.
    """
    options = _Options(can_set_cookie, with_permissions, with_groups, with_expiry)
    return (resolve_user_until if with_expiry else resolve_user)(session, options)


async def aresolve_session(
    session: SessionBase,
    *,
    can_set_cookie: bool = True,
    with_permissions: bool = False,
    with_groups: bool = False,
    with_expiry: bool = False,
) -> Resolution:
    """See resolve_session(). One thread hop at most; none for a session with
    no key, for a hit in an in-process or Redis identity cache, nor in native
    mode (``_native``: django-async-backend's engine, docs/native.rst)."""
    options = _Options(can_set_cookie, with_permissions, with_groups, with_expiry)
    session.accessed = True  # See _resolve_until().
    if not may_name_user(session):
        return Resolution(AnonymousUser(), None)
    cache = conf.identity_cache()
    reader = None if cache is None else reader_for(cache)
    if cache is not None and (reader is None or not reader.in_loop):
        # Read in the thread, as everything after it.
        run = resolve_user_until if options.with_expiry else resolve_user
        return await sync_to_async(run)(session, options)
    fill = None
    if cache is not None and reader is not None:
        read = await reader.aread(session)
        entry = read.entry
        if entry is not None:
            if not confirms_in_loop(entry.backend):
                # The backend's own hooks may query: confirmed in the thread,
                # which goes on to the database if they refuse.
                return _kept(
                    await sync_to_async(_served_or_resolved)(
                        entry, session, cache, options
                    ),
                    options,
                )
            user = confirmed_user(entry)
            if user is not None:
                return _kept(Resolution(user, entry.expires_at), options)
        # A miss: to the database, filling the entry unless the cache just
        # failed (that was logged; not tried twice).
        fill = None if read.failed else reader
    if fill is None:
        native = await aresolve_native(
            session,
            with_permissions=options.with_permissions,
            with_groups=options.with_groups,
            with_expiry=options.with_expiry,
        )
    else:
        native = await aresolve_native_filling(
            session,
            fill,
            with_groups=options.with_groups,
            with_expiry=options.with_expiry,
        )
    if native is not None:
        return Resolution(*native)
    if cache is None:
        run = resolve_user_until if options.with_expiry else resolve_user
        return await sync_to_async(run)(session, options)
    cache_to_fill = None if fill is None else cache
    return _kept(
        await sync_to_async(_resolve)(session, cache_to_fill, options), options
    )


@dataclass(frozen=True)
class _Options:
    can_set_cookie: bool
    with_permissions: bool
    with_groups: bool
    #: Also say when the session ends (a socket's timer needs it).
    with_expiry: bool


def _kept(resolution: Resolution, options: _Options) -> Resolution:
    """``resolution`` with its expiry only when it was asked for."""
    return resolution if options.with_expiry else Resolution(resolution.user, None)


# The two functions a thread hop runs: their names are what hops are counted
# by (tests and benchmarks assert them), so they keep the names they had.


def resolve_user(session: SessionBase, options: _Options) -> Resolution:
    """Private: resolve_session() without the expiry; see _resolve_until()."""
    return Resolution(_resolve_until(session, options).user, None)


def resolve_user_until(session: SessionBase, options: _Options) -> Resolution:
    """Private: resolve_session() with the expiry; see _resolve_until()."""
    return _resolve_until(session, options)


def _resolve_until(session: SessionBase, options: _Options) -> Resolution:
    # Marked as read, as Django's get_user() does by reading it: the user is
    # decided by the session cookie even when no I/O was needed (no key, or a
    # hit), so SessionMiddleware must add Vary: Cookie to the response.
    session.accessed = True
    if not may_name_user(session):
        return Resolution(AnonymousUser(), None)
    cache = conf.identity_cache()
    if cache is not None:
        entry = cached_entry(cache, session).entry
        if entry is not None:
            return _served_or_resolved(entry, session, cache, options)
    return _resolve(session, cache, options)


def _served_or_resolved(
    entry: Entry, session: SessionBase, cache: BaseCache, options: _Options
) -> Resolution:
    """The user of a valid entry, if the session's backend confirms it (see
    ``_backends``); else what Django's ``get_user()`` says."""
    user = confirmed_user(entry)
    if user is not None:
        return Resolution(user, entry.expires_at)
    return _resolve(session, cache, options)


def _resolve(
    session: SessionBase, cache: BaseCache | None, options: _Options
) -> Resolution:
    """Ask Django's ``get_user()``; with an identity cache, fill its entry.

    An entry holds the permissions too, so they are loaded whenever it is
    filled; group names when asked for (an entry without them costs a group
    check one thread hop).
    """
    before = None if cache is None else snapshot(cache, session)
    expiry = None if before is None else before.expires_at
    if options.with_expiry and before is None:
        expiry = load_with_expiry(session)
    refuse_async_hooks(session.get(BACKEND_SESSION_KEY))
    holder = _SessionOnly(session if options.can_set_cookie else _KeyKept(session))
    user = auth.get_user(holder)  # type: ignore[arg-type]
    if options.with_permissions or cache is not None:
        load_permissions(user)
    if options.with_groups:
        load_group_names(user)
    if cache is not None:
        remember(cache, session, user, before)
    return Resolution(user, expiry if user.is_authenticated else None)
