"""The request-level pair: ``request.user``, read now, with a clear error.

``request_user()``/``arequest_user()`` settle what the middleware set (our
lazy user, any other lazy object, or a user) and return it; ``set_user()``
and ``set_lazy_user()`` are what the middleware sets. Who a session's user is
(the session-level pair) is ``async_auth_views.identity``'s.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.functional import LazyObject, SimpleLazyObject, empty

from ._types import UserType as UserType  # re-exported: the old path
from .groups import load_group_names
from .identity import aresolve_session, resolve_session
from .permissions import load_permissions

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase


class LazyUser(SimpleLazyObject):  # type: ignore[type-arg]
    """Private: the lazy ``request.user`` ``set_lazy_user()`` sets.

    Django's lazy object, marked as ours so that it can be filled without a
    thread hop when the session names no user, and with the model permissions
    in the same call when a permission check follows. It adds no attribute a
    user model could have: everything else is the user's.
    """

    def __init__(self, session: SessionBase) -> None:
        super().__init__(lambda: resolve_session(session).user)
        # In __dict__, as SimpleLazyObject keeps its function: setting an
        # attribute on a lazy object would resolve it.
        self.__dict__["_async_auth_session"] = session


def set_user(request: HttpRequest, user: UserType | LazyUser) -> None:
    """Set ``request.user``, and ``request.auser()`` returning it settled."""
    request.user = user  # type: ignore[assignment]
    # Returns request.user as it is when awaited: whoever replaced or wrapped it
    # since (a subclass, a later middleware) is what auser() returns too.
    request.auser = partial(_asettle, request)


def set_lazy_user(request: HttpRequest) -> None:
    """Set a lazy ``request.user``, resolved from ``request.session`` when read."""
    set_user(request, LazyUser(request.session))


def _check_user_set(request: HttpRequest, middleware: object) -> None:
    """After an overriding ``process_request()``: a user is set, and ``auser()`` with it."""
    if not hasattr(request, "user"):
        name = f"{type(middleware).__qualname__}.process_request()"
        raise ImproperlyConfigured(
            f"{name} set no request.user: call super().process_request(request)."
        )
    if not hasattr(request, "auser"):
        request.auser = partial(_asettle, request)


def _fill(lazy: LazyUser, preload: dict[str, bool]) -> None:
    if lazy._wrapped is empty:
        session = lazy.__dict__["_async_auth_session"]
        lazy._wrapped = resolve_session(session, **preload).user


async def _afill(lazy: LazyUser, preload: dict[str, bool]) -> None:
    if lazy._wrapped is empty:
        session = lazy.__dict__["_async_auth_session"]
        user = (await aresolve_session(session, **preload)).user
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


def _require_user(request: HttpRequest) -> UserType:
    """``request.user`` as it is (not settled), with a clear error when no middleware set it."""
    if not hasattr(request, "user"):
        raise _missing_middleware(request)
    return request.user


def request_user(
    request: HttpRequest, *, with_permissions: bool = False, with_groups: bool = False
) -> UserType:
    """Read ``request.user`` now, so that reading it later costs no query; return it.

    ``request.user`` is what decides, as in Django's sync code: a subclass of the
    middleware or a middleware after it (django-otp's ``OTPMiddleware``) may
    have replaced or re-wrapped it. Our lazy user is resolved (with its
    permissions and groups when asked); any other lazy object is evaluated, as a read
    would. A plain lazy object is then replaced by the user it holds.
    """
    user: Any = _require_user(request)
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


async def arequest_user(
    request: HttpRequest, *, with_permissions: bool = False, with_groups: bool = False
) -> UserType:
    """See request_user(). Our lazy user costs no thread hop when the session
    names no user; any other lazy object is evaluated in a thread, since it may query.

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
    return await _asettle(
        request, with_permissions=with_permissions, with_groups=with_groups
    )


async def _asettle(
    request: HttpRequest, *, with_permissions: bool = False, with_groups: bool = False
) -> UserType:
    """See arequest_user(), without the ``auser()`` branch (it is ``auser()``)."""
    user: Any = _require_user(request)
    kind = type(user)  # isinstance() would read __class__, resolving a lazy object.
    if issubclass(kind, LazyUser):
        await _afill(
            user, {"with_permissions": with_permissions, "with_groups": with_groups}
        )
    elif issubclass(kind, LazyObject) and user._wrapped is empty:
        await sync_to_async(user._setup)()
    request.user = _unwrapped(user)
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


__all__ = [
    "arequest_user",
    "request_session",
    "request_user",
    "set_lazy_user",
    "set_user",
]
