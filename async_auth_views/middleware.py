"""``request.user`` resolved before the view runs, with one await.

Django's middleware makes ``request.user`` a lazy object that queries the
database the first time it is read, from whatever code reads it, and keeps a
second, separate cache for ``request.auser()``. In an async view that first
read is often synchronous (a template, a context processor, a helper) and
raises ``SynchronousOnlyOperation``. Here the async path resolves the user
eagerly, so ``request.user`` is the concrete user and ``await request.auser()``
returns that same object.

Django's extension points keep working on both paths: ``request.user`` decides.
What a subclass's ``process_request()`` or a later middleware (django-otp's
``OTPMiddleware``) leaves there is what the view, the mixins and ``auser()``
see, read off the event loop; a subclass's ``process_view()`` is never
replaced by the default of the other path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.auth.middleware import (
    LoginRequiredMiddleware as DjangoLoginRequiredMiddleware,
)
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import Resolver404, resolve

from .conf import lazy_paths, require_setup
from .hooks import acall_hook, call_hook, is_async_callable, is_overridden
from .redirects import login_redirect
from .resolver import (
    LazyUser,
    UserType,
    arequest_user,
    aresolve_user,
    asettle_user,
    request_user,
    session_may_name_user,
    settle_user,
)
from .sessions import SessionMiddleware

GetResponse = Callable[[HttpRequest], Any]


def _require_session(request: HttpRequest, middleware: object) -> None:
    if not hasattr(request, "session"):
        name = f"{type(middleware).__module__}.{type(middleware).__qualname__}"
        # Django's message word for word, then which middleware stands in its place.
        raise ImproperlyConfigured(
            "The Django authentication middleware requires session middleware to "
            "be installed. Edit your MIDDLEWARE setting to insert "
            "'django.contrib.sessions.middleware.SessionMiddleware' before "
            "'django.contrib.auth.middleware.AuthenticationMiddleware'. Here "
            f"that is '{name}', which replaces it."
        )


def _set_user(request: HttpRequest, user: UserType | LazyUser) -> None:
    request.user = user  # type: ignore[assignment]
    # Returns request.user as it is when awaited: whoever replaced or wrapped it
    # since (a subclass, a later middleware) is what auser() returns too.
    request.auser = partial(asettle_user, request)


def _check_user_set(request: HttpRequest, middleware: object) -> None:
    """After an overriding ``process_request()``: a user is set, and ``auser()`` with it."""
    if not hasattr(request, "user"):
        name = f"{type(middleware).__qualname__}.process_request()"
        raise ImproperlyConfigured(
            f"{name} set no request.user: call super().process_request(request)."
        )
    if not hasattr(request, "auser"):
        request.auser = partial(asettle_user, request)


def _bind_view_hook(middleware: Any, base: type) -> None:
    """Make ``process_view`` (what Django's handler calls) the twin for the middleware's mode.

    Unchanged, the async path runs ``aprocess_view()`` with no thread hop. A
    subclass that overrides only one twin has that one run on both paths, so
    neither path can bypass its rule; Django's handler adapts it (a sync method
    runs in a thread on the async path, an async one through ``async_to_sync``
    on the sync path).
    """
    sync_overridden = is_overridden(middleware, "process_view", base)
    async_overridden = is_overridden(middleware, "aprocess_view", base)
    if middleware.async_mode:
        use_async = async_overridden or not sync_overridden
    else:
        use_async = async_overridden and not sync_overridden
    if use_async:
        middleware.process_view = middleware.aprocess_view


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Drop-in replacement for Django's ``AuthenticationMiddleware``.

    Async path: the user is resolved before the view, in one thread hop (none
    when the request has no session key). Sync path: a lazy ``request.user`` as
    in Django, sharing one cache with ``request.auser()``. Paths matching
    ``ASYNC_AUTH_LAZY_PATHS`` get the lazy user on both paths.

    A subclass's ``process_request()`` (``def`` or ``async def``) runs on both
    paths, and what it leaves in ``request.user`` is what the view, the
    mixins and ``request.auser()`` see.
    """

    def __init__(self, get_response: GetResponse) -> None:
        require_setup(self)
        super().__init__(get_response)
        self.lazy_paths = lazy_paths()
        _bind_view_hook(self, AuthenticationMiddleware)

    def resolves_eagerly(self, request: HttpRequest) -> bool:
        """Whether this request's user is resolved before the view runs."""
        return not any(pattern.match(request.path_info) for pattern in self.lazy_paths)

    def preloads_permissions(self, request: HttpRequest) -> bool:
        """Whether the view this request is routed to checks model permissions.

        A view says so with a true ``preload_permissions`` attribute (as
        ``PermissionRequiredMixin`` and ``permission_required`` do), on the
        function or on the class a class-based view (``view_class``) or a DRF
        viewset (``cls``) came from;
        its user's permissions are then loaded in the same thread hop as the
        user, so the check costs none.
        """
        return self.preloads(request)["with_permissions"]

    def preloads(self, request: HttpRequest) -> dict[str, bool]:
        """What to load with the user: ``with_permissions`` and ``with_groups``.

        From the routed view's ``preload_permissions`` and ``preload_groups``
        (``GroupRequiredMixin`` sets the second), looked up once.
        """
        views = self._routed_views(request)
        return {
            "with_permissions": any(
                getattr(view, "preload_permissions", False) for view in views
            ),
            "with_groups": any(
                getattr(view, "preload_groups", False) for view in views
            ),
        }

    def _routed_views(self, request: HttpRequest) -> tuple[object, ...]:
        """The routed view function, and the class it came from, if any."""
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return ()
        func = match.func
        return (func, getattr(func, "view_class", None) or getattr(func, "cls", func))

    def process_request(self, request: HttpRequest) -> None:
        """Set a lazy ``request.user`` and ``request.auser()``, as Django does.

        On the async path an override's call to this sets the lazy user too;
        unless the path is lazy it is resolved (in the override's thread hop)
        before the rest of the chain runs.
        """
        _require_session(request, self)
        _set_user(request, LazyUser(request.session))

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        """See aprocess_view(). Nothing on the sync path: sync code reads a lazy user anyway.

        On the async path this runs only when a subclass overrides it and
        calls ``super()``: Django runs it in a thread, where reading is safe.
        """
        if self.async_mode and self.resolves_eagerly(request):
            settle_user(request)

    async def aprocess_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        """Resolve a ``request.user`` that a later middleware re-wrapped lazily.

        django-otp's ``OTPMiddleware`` (and others) wrap the user in a lazy
        object that queries when first read; read from the view or its
        template, in the event loop, that query would fail. It is read here,
        in a thread, after every middleware has run and before the view.
        """
        if self.resolves_eagerly(request):
            await asettle_user(request)

    def __call__(self, request: HttpRequest) -> Any:
        """Django's ``MiddlewareMixin.__call__``, running an ``async def`` override to completion."""
        if self.async_mode:
            return self.__acall__(request)
        response = call_hook(partial(self.process_request, request))
        if response is None:
            _check_user_set(request, self)
        response = response or self.get_response(request)
        if hasattr(self, "process_response"):
            response = call_hook(partial(self.process_response, request, response))
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if is_overridden(self, "process_request", AuthenticationMiddleware):
            response = await self._aprocess_request_override(request)
        else:
            await self._aset_user(request)
            response = None
        if response is None:
            response = await self.get_response(request)  # type: ignore[misc]
        if hasattr(self, "process_response"):
            response = await acall_hook(
                partial(self.process_response, request, response)
            )
        return response

    async def _aset_user(self, request: HttpRequest) -> None:
        """The async ``process_request()``: the user resolved before the view."""
        _require_session(request, self)
        if self.resolves_eagerly(request):
            _set_user(
                request, await aresolve_user(request.session, **self._preload(request))
            )
        else:
            _set_user(request, LazyUser(request.session))

    def _preload(self, request: HttpRequest) -> dict[str, bool]:
        # Only a session that may name a user needs the view looked up.
        session = getattr(request, "session", None)
        if session is None or not session_may_name_user(session):
            return {}
        return self.preloads(request)

    async def _aprocess_request_override(
        self, request: HttpRequest
    ) -> HttpResponseBase | None:
        """A subclass's ``process_request()``, then the user it left, resolved.

        A ``def`` override runs in a thread (it may query, as Django runs it)
        and the user is resolved in that same hop; an ``async def`` one is
        awaited. Unless the path is lazy, the user is resolved before the rest
        of the chain, so nothing after it queries in the event loop.
        """
        eager = self.resolves_eagerly(request)
        if is_async_callable(self.process_request):
            response = await acall_hook(partial(self.process_request, request))
            if response is None:
                _check_user_set(request, self)
                if eager:
                    await asettle_user(request, **self._preload(request))
            return response  # type: ignore[no-any-return]
        return await sync_to_async(self._process_request_settled)(request, eager)

    def _process_request_settled(
        self, request: HttpRequest, eager: bool
    ) -> HttpResponseBase | None:
        response = call_hook(partial(self.process_request, request))
        if response is None:
            _check_user_set(request, self)
            if eager:
                settle_user(request, **self._preload(request))
        return response  # type: ignore[no-any-return]


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's ``LoginRequiredMiddleware`` with a native async ``process_view``.

    Views marked with ``django.contrib.auth.decorators.login_not_required`` stay
    public. The ``login_url`` and ``redirect_field_name`` that
    ``login_required(...)`` sets on a view function are honoured. A subclass's
    ``process_view()`` or ``aprocess_view()`` and its ``handle_no_permission()``,
    ``get_login_url()`` and ``get_redirect_field_name()`` (``def`` or
    ``async def``) are honoured on both paths.
    """

    def __init__(self, get_response: GetResponse) -> None:
        require_setup(self)
        super().__init__(get_response)
        _bind_view_hook(self, LoginRequiredMiddleware)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        """Redirect an anonymous request to the login page, unless the view is public."""
        if not _requires_login(view_func) or request_user(request).is_authenticated:
            return None
        response: HttpResponseBase = call_hook(
            partial(self.handle_no_permission, request, view_func)
        )
        return response

    async def aprocess_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        """See process_view(). Awaits the user instead of reading it in a thread."""
        if not _requires_login(view_func):
            return None
        user = await arequest_user(request)
        if user.is_authenticated:
            return None
        refuse = partial(self.handle_no_permission, request, view_func)
        if any(
            is_overridden(self, name, LoginRequiredMiddleware)
            for name in (
                "handle_no_permission",
                "get_login_url",
                "get_redirect_field_name",
            )
        ):
            # A hook of the subclass's may query: a thread, or awaited.
            response: HttpResponseBase = await acall_hook(refuse)
        else:
            response = refuse()  # Building the redirect does no I/O.
        return response

    def handle_no_permission(
        self, request: HttpRequest, view_func: Callable[..., Any]
    ) -> HttpResponseRedirect:
        """The login redirect, as Django builds it; its hooks may be ``async def``."""
        return login_redirect(
            request,
            call_hook(partial(self.get_login_url, view_func)),
            call_hook(partial(self.get_redirect_field_name, view_func)),
        )


def _requires_login(view_func: Callable[..., Any]) -> bool:
    """False for a view marked with ``login_not_required``, as in Django."""
    return bool(getattr(view_func, "login_required", True))


__all__ = ["AuthenticationMiddleware", "LoginRequiredMiddleware", "SessionMiddleware"]
