"""``request.user`` resolved before the view runs, with one await.

Django's middleware makes ``request.user`` a lazy object that queries the
database the first time it is read, from whatever code reads it, and keeps a
second, separate cache for ``request.auser()``. In an async view that first
read is often synchronous (a template, a context processor, a helper) and
raises ``SynchronousOnlyOperation``. Here the async path resolves the user
eagerly, so ``request.user`` is the concrete user and ``await request.auser()``
returns that same object.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.auth.middleware import (
    LoginRequiredMiddleware as DjangoLoginRequiredMiddleware,
)
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.functional import SimpleLazyObject, empty

from .conf import lazy_paths
from .resolver import (
    UserType,
    arequest_user,
    aresolve_user,
    resolve_user,
    session_may_name_user,
)
from .sessions import SessionMiddleware

GetResponse = Callable[[HttpRequest], Any]


class _LazyUser(SimpleLazyObject):  # type: ignore[type-arg]
    """Django's lazy ``request.user``, marked as ours so ``auser()`` can share its cache."""


async def _auser(request: HttpRequest) -> UserType:
    """The user in ``request.user``, resolving a still-lazy one without blocking."""
    user = request.user
    if isinstance(user, _LazyUser):
        if user._wrapped is empty:
            # Fill the lazy object itself: whoever holds it sees this same user.
            user._wrapped = await aresolve_user(request.session)
        return user._wrapped  # type: ignore[no-any-return]
    return user


def _require_session(request: HttpRequest, middleware: object) -> None:
    if not hasattr(request, "session"):
        name = f"{type(middleware).__module__}.{type(middleware).__qualname__}"
        raise ImproperlyConfigured(
            "The Django authentication middleware requires session middleware to "
            "be installed. Edit your MIDDLEWARE setting to insert "
            "'django.contrib.sessions.middleware.SessionMiddleware' before "
            f"'{name}'."
        )


def _set_lazy_user(request: HttpRequest) -> None:
    request.user = _LazyUser(lambda: resolve_user(request.session))  # type: ignore[assignment]
    request.auser = partial(_auser, request)


def _set_user(request: HttpRequest, user: UserType) -> None:
    request.user = user
    request.auser = partial(_auser, request)


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Drop-in replacement for Django's ``AuthenticationMiddleware``.

    Async path: the user is resolved before the view, in one thread hop (none
    when the request has no session key). Sync path: a lazy ``request.user`` as
    in Django, sharing one cache with ``request.auser()``. Paths matching
    ``ASYNC_AUTH_LAZY_PATHS`` get the lazy user on both paths.
    """

    def __init__(self, get_response: GetResponse) -> None:
        super().__init__(get_response)
        self.lazy_paths = lazy_paths()

    def resolves_eagerly(self, request: HttpRequest) -> bool:
        """Whether this request's user is resolved before the view runs."""
        return not any(pattern.match(request.path_info) for pattern in self.lazy_paths)

    def preloads_permissions(self, request: HttpRequest) -> bool:
        """Whether the view this request is routed to checks model permissions.

        A view says so with a true ``preload_permissions`` attribute (as
        ``PermissionRequiredMixin`` does), on the function or on the class a
        class-based view (``view_class``) or a DRF viewset (``cls``) came from;
        its user's permissions are then loaded in the same thread hop as the
        user, so the check costs none.
        """
        return self.preloads(request)["with_permissions"]

    def preloads(self, request: HttpRequest) -> dict[str, bool]:
        """What to load with the user: ``with_permissions`` and ``with_groups``.

        From the routed view's ``preload_permissions`` and ``preload_groups``
        (``GroupRequiredMixin`` sets the second), looked up once.
        """
        view = self._routed_view(request)
        return {
            "with_permissions": bool(getattr(view, "preload_permissions", False)),
            "with_groups": bool(getattr(view, "preload_groups", False)),
        }

    def _routed_view(self, request: HttpRequest) -> object:
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return None
        func = match.func
        return getattr(func, "view_class", None) or getattr(func, "cls", func)

    def process_request(self, request: HttpRequest) -> None:
        _require_session(request, self)
        _set_lazy_user(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        _require_session(request, self)
        if self.resolves_eagerly(request):
            session = request.session
            # Only a session that may name a user needs the view looked up.
            preload = self.preloads(request) if session_may_name_user(session) else {}
            _set_user(request, await aresolve_user(session, **preload))
        else:
            _set_lazy_user(request)
        response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
        return response


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's ``LoginRequiredMiddleware`` with a native async ``process_view``.

    Views marked with ``django.contrib.auth.decorators.login_not_required`` stay
    public. The ``login_url`` and ``redirect_field_name`` that
    ``login_required(...)`` sets on a view function are honoured.
    """

    def __init__(self, get_response: GetResponse) -> None:
        super().__init__(get_response)
        if self.async_mode:
            # Django's handler adapts process_view to its own mode; an instance
            # attribute that is a coroutine function is awaited with no thread.
            self.process_view = self.aprocess_view  # type: ignore[method-assign,assignment]

    async def aprocess_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: list[Any],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        """Redirect an anonymous request to the login page, unless the view is public.

        The async twin of Django's ``process_view()``: it awaits the user
        instead of reading it in a thread.
        """
        if not getattr(view_func, "login_required", True):
            return None
        user = await arequest_user(request)
        if user.is_authenticated:
            return None
        response: HttpResponseBase = self.handle_no_permission(request, view_func)
        return response


__all__ = ["AuthenticationMiddleware", "LoginRequiredMiddleware", "SessionMiddleware"]
