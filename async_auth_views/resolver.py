"""Who the user is: one resolution for HTTP requests and Channels scopes.

The work is delegated to Django's own ``django.contrib.auth.get_user()``, run
once in a thread, so session-hash verification, ``SECRET_KEY_FALLBACKS``,
inactive users and backend checks are Django's, not a copy that can drift.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.functional import LazyObject, SimpleLazyObject, empty

from . import conf
from ._types import UserType as UserType  # re-exported: the old path
from .groups import load_group_names
from .identity._backends import confirmed_user, confirms_in_loop, refuse_async_hooks
from .identity._cache import (
    Identity,
    cached_identity,
    is_in_process,
    remember,
    stamp,
)
from .identity._engines import load_with_expiry
from .identity._redis import Lookup, redis_reader
from .permissions import load_permissions

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache


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


def session_may_name_user(session: SessionBase) -> bool:
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


def resolve_user(
    session: SessionBase,
    *,
    can_set_cookie: bool = True,
    with_permissions: bool = False,
    with_groups: bool = False,
) -> UserType:
    """Return the user the session names, or ``AnonymousUser``, as Django does.

    Pass ``can_set_cookie=False`` where the response cannot carry a new session
    cookie (a WebSocket), so the session key is never cycled;
    ``with_permissions=True`` to load the user's model permissions in the same
    call (one statement) when a permission check will follow; and
    ``with_groups=True`` to load the names of the user's groups (one statement)
    when a group check will. With ``ASYNC_AUTH_IDENTITY_CACHE`` set, a valid
    cache entry answers instead.
    """
    options = _Options(can_set_cookie, with_permissions, with_groups, False)
    return _resolve_until(session, options)[0]


def resolve_user_until(
    session: SessionBase,
    *,
    can_set_cookie: bool = True,
    with_permissions: bool = False,
    with_groups: bool = False,
) -> tuple[UserType, datetime.datetime | None]:
    """See resolve_user(); also when the session ends at the latest (None when
    its engine cannot tell, or the user is anonymous)."""
    options = _Options(can_set_cookie, with_permissions, with_groups, True)
    return _resolve_until(session, options)


async def aresolve_user(
    session: SessionBase,
    *,
    can_set_cookie: bool = True,
    with_permissions: bool = False,
    with_groups: bool = False,
) -> UserType:
    """See resolve_user(). One thread hop at most; none for a session with no
    key, nor for a hit in an in-process or Redis identity cache."""
    options = _Options(can_set_cookie, with_permissions, with_groups, False)
    return (await _aresolve_until(session, options))[0]


async def aresolve_user_until(
    session: SessionBase,
    *,
    can_set_cookie: bool = True,
    with_permissions: bool = False,
    with_groups: bool = False,
) -> tuple[UserType, datetime.datetime | None]:
    """See resolve_user_until(). In the same thread hop as aresolve_user()."""
    options = _Options(can_set_cookie, with_permissions, with_groups, True)
    return await _aresolve_until(session, options)


@dataclass(frozen=True)
class _Options:
    can_set_cookie: bool
    with_permissions: bool
    with_groups: bool
    #: Also say when the session ends (a socket's timer needs it).
    with_expiry: bool


Resolved = tuple["UserType", "datetime.datetime | None"]


def _resolve_until(session: SessionBase, options: _Options) -> Resolved:
    _mark_read(session)
    if not session_may_name_user(session):
        return AnonymousUser(), None
    cache = conf.identity_cache()
    if cache is not None:
        entry = cached_identity(cache, session)
        if entry is not None:
            return _served_or_resolved(entry, session, cache, options)
    return _resolve(session, cache, options)


async def _aresolve_until(session: SessionBase, options: _Options) -> Resolved:
    _mark_read(session)
    if not session_may_name_user(session):
        return AnonymousUser(), None
    cache = conf.identity_cache()
    reader = None if cache is None else redis_reader(cache)
    if cache is not None and (reader is not None or is_in_process(cache)):
        if reader is None:
            lookup = Lookup.of(cached_identity(cache, session))
        else:
            lookup = await reader.acached_user(session)
        entry = lookup.entry
        if entry is not None:
            if not confirms_in_loop(entry.backend):
                # The backend's own hooks may query: confirmed in the thread,
                # which goes on to the database if they refuse.
                return await sync_to_async(_served_or_resolved)(
                    entry, session, cache, options
                )
            user = confirmed_user(entry)
            if user is not None:
                return user, entry.expires_at
        # A miss: the thread goes straight to the database, and fills the
        # entry unless the cache just failed (that was logged; not tried twice).
        fill = None if lookup.failed else cache
        return await sync_to_async(_resolve)(session, fill, options)
    kwargs = {
        "can_set_cookie": options.can_set_cookie,
        "with_permissions": options.with_permissions,
        "with_groups": options.with_groups,
    }
    if options.with_expiry:
        return await sync_to_async(resolve_user_until)(session, **kwargs)
    return await sync_to_async(resolve_user)(session, **kwargs), None


def _mark_read(session: SessionBase) -> None:
    """Mark the session as read, as Django's ``get_user()`` does by reading it.

    The user is decided by the session cookie even when no I/O was needed (no
    key, or an identity-cache hit), so the response must vary on it:
    ``SessionMiddleware`` adds ``Vary: Cookie`` to responses whose session was
    accessed, and a shared cache must never serve one user's page to another.
    """
    session.accessed = True


def _served_or_resolved(
    entry: Identity, session: SessionBase, cache: BaseCache, options: _Options
) -> Resolved:
    """The user of a valid entry, if the session's backend confirms it (see
    ``async_auth_views.backends``); else what Django's ``get_user()`` says."""
    user = confirmed_user(entry)
    if user is not None:
        return user, entry.expires_at
    return _resolve(session, cache, options)


def _resolve(
    session: SessionBase, cache: BaseCache | None, options: _Options
) -> Resolved:
    """Ask Django's ``get_user()``; with an identity cache, fill its entry.

    An entry holds the permissions too, so they are loaded whenever it is
    filled; group names when asked for (an entry without them costs a group
    check one thread hop).
    """
    before = None if cache is None else stamp(cache, session)
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
    return user, (expiry if user.is_authenticated else None)


class LazyUser(SimpleLazyObject):  # type: ignore[type-arg]
    """The lazy ``request.user`` the middleware sets where it does not resolve eagerly.

    Django's lazy object, marked as ours so that it can be filled without a
    thread hop when the session names no user, and with the model permissions
    in the same call when a permission check follows. It adds no attribute a
    user model could have: everything else is the user's.
    """

    def __init__(self, session: SessionBase) -> None:
        super().__init__(partial(resolve_user, session))
        # In __dict__, as SimpleLazyObject keeps its function: setting an
        # attribute on a lazy object would resolve it.
        self.__dict__["_async_auth_session"] = session


def _fill(lazy: LazyUser, preload: dict[str, bool]) -> None:
    if lazy._wrapped is empty:
        session = lazy.__dict__["_async_auth_session"]
        lazy._wrapped = resolve_user(session, **preload)


async def _afill(lazy: LazyUser, preload: dict[str, bool]) -> None:
    if lazy._wrapped is empty:
        session = lazy.__dict__["_async_auth_session"]
        user = await aresolve_user(session, **preload)
        if lazy._wrapped is empty:  # No one filled it while this awaited.
            lazy._wrapped = user


def _unwrapped(user: Any) -> UserType:
    """A resolved plain lazy object's user; a ``LazyObject`` subclass stays, as it may add behaviour."""
    if type(user) in (LazyUser, SimpleLazyObject):
        user = user._wrapped
    resolved: UserType = user
    return resolved


def _missing_middleware(request: HttpRequest) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"{type(request).__name__} has no user: the authentication middleware is "
        "not installed. Add 'async_auth_views.middleware.AuthenticationMiddleware' "
        "to MIDDLEWARE, after 'django.contrib.sessions.middleware.SessionMiddleware'."
    )


def settle_user(
    request: HttpRequest, *, with_permissions: bool = False, with_groups: bool = False
) -> UserType:
    """Read ``request.user`` now, so that reading it later costs no query; return it.

    ``request.user`` is what decides, as in Django's sync code: a subclass of the
    middleware or a middleware after it (django-otp's ``OTPMiddleware``) may
    have replaced or re-wrapped it. Our lazy user is resolved (with its
    permissions and groups when asked); any other lazy object is evaluated, as a read
    would. A plain lazy object is then replaced by the user it holds.
    """
    user: Any = request_user(request)
    kind = type(user)  # isinstance() would read __class__, resolving a lazy object.
    if issubclass(kind, LazyUser):
        _fill(user, {"with_permissions": with_permissions, "with_groups": with_groups})
    elif issubclass(kind, LazyObject) and user._wrapped is empty:
        user._setup()
    request.user = _unwrapped(user)
    # Read before this call (by a middleware), the user was loaded without them.
    if with_permissions:
        load_permissions(request.user)
    if with_groups:
        load_group_names(request.user)
    return request.user


async def asettle_user(
    request: HttpRequest, *, with_permissions: bool = False, with_groups: bool = False
) -> UserType:
    """See settle_user(). Our lazy user costs no thread hop when the session names
    no user; any other lazy object is evaluated in a thread, since it may query."""
    user: Any = request_user(request)
    kind = type(user)  # isinstance() would read __class__, resolving a lazy object.
    if issubclass(kind, LazyUser):
        await _afill(
            user, {"with_permissions": with_permissions, "with_groups": with_groups}
        )
    elif issubclass(kind, LazyObject) and user._wrapped is empty:
        await sync_to_async(user._setup)()
    request.user = _unwrapped(user)
    return request.user


def request_user(request: HttpRequest) -> UserType:
    """``request.user``, with a clear error when no middleware set it."""
    if not hasattr(request, "user"):
        raise _missing_middleware(request)
    return request.user


def request_session(request: HttpRequest) -> SessionBase:
    """``request.session``, with a clear error when no middleware set it."""
    session: SessionBase | None = getattr(request, "session", None)
    if session is None:
        raise ImproperlyConfigured(
            f"{type(request).__name__} has no session: the session middleware is "
            "not installed. Add 'async_auth_views.middleware.SessionMiddleware' "
            "(or Django's) to MIDDLEWARE, before the authentication middleware."
        )
    return session


async def arequest_user(request: HttpRequest) -> UserType:
    """See request_user(). Leaves ``request.user`` resolved, so sync code reads it freely.

    It is ``request.user`` that is judged, as Django's mixins judge it, whoever
    set it: never the result of a ``request.auser()`` that a middleware after
    ours left unwrapped, which would strip its restriction. Under Django's own
    middleware its lazy user is read in a thread and replaced by the user, so
    sync code reads it without a query.

    A request with ``auser()`` but no ``request.user`` (one built by hand, as
    Django's own decorator tests build theirs) is judged by ``auser()``, as
    Django's decorators judge it, and is left as it is.
    """
    if not hasattr(request, "user") and hasattr(request, "auser"):
        user: UserType = await request.auser()
        return user
    return await asettle_user(request)
