"""Who the user is: one resolution for HTTP requests and Channels scopes.

The work is delegated to Django's own ``django.contrib.auth.get_user()``, run
once in a thread, so session-hash verification, ``SECRET_KEY_FALLBACKS``,
inactive users and backend checks are Django's, not a copy that can drift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.contrib import auth
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.functional import LazyObject, empty

from .groups import load_group_names
from .identity import cached_user, identity_cache, is_in_process, remember, stamp
from .identity_redis import Lookup, redis_reader
from .permissions import load_permissions

if TYPE_CHECKING:
    from typing import TypeAlias

    from django.contrib.auth.models import _AnyUser
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache

    # The active user model or AnonymousUser, as django-stubs types request.user.
    UserType: TypeAlias = _AnyUser
else:
    UserType = Any


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
    """Whether the session may name a user; False is certain and costs no I/O."""
    loaded = getattr(session, "_session_cache", None)
    if loaded is not None:
        return SESSION_KEY in loaded
    return session.session_key is not None


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
    _mark_read(session)
    cache = identity_cache()
    if cache is not None:
        user = cached_user(cache, session)
        if user is not None:
            return user
    return _resolve(session, cache, can_set_cookie, with_permissions, with_groups)


async def aresolve_user(
    session: SessionBase,
    *,
    can_set_cookie: bool = True,
    with_permissions: bool = False,
    with_groups: bool = False,
) -> UserType:
    """See resolve_user(). One thread hop at most; none for a session with no
    key, nor for a hit in an in-process or Redis identity cache."""
    _mark_read(session)
    if not session_may_name_user(session):
        return AnonymousUser()
    cache = identity_cache()
    reader = None if cache is None else redis_reader(cache)
    if cache is not None and (reader is not None or is_in_process(cache)):
        if reader is None:
            lookup = Lookup(cached_user(cache, session))
        else:
            lookup = await reader.acached_user(session)
        if lookup.user is not None:
            return lookup.user
        # A miss: the thread goes straight to the database, and fills the
        # entry unless the cache just failed (that was logged; not tried twice).
        fill = None if lookup.failed else cache
        return await sync_to_async(_resolve)(
            session, fill, can_set_cookie, with_permissions, with_groups
        )
    return await sync_to_async(resolve_user)(
        session,
        can_set_cookie=can_set_cookie,
        with_permissions=with_permissions,
        with_groups=with_groups,
    )


def _mark_read(session: SessionBase) -> None:
    """Mark the session as read, as Django's ``get_user()`` does by reading it.

    The user is decided by the session cookie even when no I/O was needed (no
    key, or an identity-cache hit), so the response must vary on it:
    ``SessionMiddleware`` adds ``Vary: Cookie`` to responses whose session was
    accessed, and a shared cache must never serve one user's page to another.
    """
    session.accessed = True


def _resolve(
    session: SessionBase,
    cache: BaseCache | None,
    can_set_cookie: bool,
    with_permissions: bool,
    with_groups: bool = False,
) -> UserType:
    """Ask Django's ``get_user()``; with an identity cache, fill its entry.

    An entry holds the permissions too, so they are loaded whenever it is
    filled; group names when asked for (an entry without them costs a group
    check one thread hop).
    """
    before = None if cache is None else stamp(cache, session)
    holder = _SessionOnly(session if can_set_cookie else _KeyKept(session))
    user = auth.get_user(holder)  # type: ignore[arg-type]
    if with_permissions or cache is not None:
        load_permissions(user)
    if with_groups:
        load_group_names(user)
    if cache is not None:
        remember(cache, session, user, before)
    return user


def _missing_middleware(request: HttpRequest) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"{type(request).__name__} has no user: the authentication middleware is "
        "not installed. Add 'async_auth_views.middleware.AuthenticationMiddleware' "
        "to MIDDLEWARE, after 'django.contrib.sessions.middleware.SessionMiddleware'."
    )


def concrete_user(user: UserType) -> UserType:
    """The user behind a lazy ``request.user``, resolved now; from sync code only.

    A check resolves it before any hook runs, so that an ``async def`` hook run
    with ``async_to_sync`` never meets a lazy user, whose first read would
    query inside that event loop.
    """
    if isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        wrapped: UserType = user._wrapped
        return wrapped
    return user


def request_user(request: HttpRequest) -> UserType:
    """``request.user``, with a clear error when no middleware set it."""
    if not hasattr(request, "user"):
        raise _missing_middleware(request)
    return request.user


async def arequest_user(request: HttpRequest) -> UserType:
    """See request_user(). Leaves ``request.user`` concrete, so sync code reads it freely.

    Under Django's own middleware ``request.user`` is a lazy object with a cache
    of its own; replacing it with the user ``auser()`` resolved means one user
    object (and one permission cache) per request, and no query from sync code.
    """
    auser = getattr(request, "auser", None)
    if auser is None:
        raise _missing_middleware(request)
    user: UserType = await auser()
    request.user = user
    return user
