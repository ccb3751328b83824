"""Async-aware ``LoginRequiredMixin``, ``PermissionRequiredMixin`` and ``UserPassesTestMixin``.

The names, attributes and hooks are Django's (``django.contrib.auth.mixins``),
so moving a project over is one import line. One class serves sync and async
views: on an async view ``dispatch()`` returns a coroutine that resolves the
user, runs the check, and only then dispatches. Nothing queries the database in
the event loop: a plain ``def`` hook that may query runs in a thread, in one hop
per check; ``async def`` hooks are awaited. Any exception in a check
propagates, so the view is never served when a check fails.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from .hooks import acall_hook, aresult, call_hook, is_overridden
from .permissions import ahas_perms, has_perms, permission_list
from .redirects import login_redirect
from .resolver import arequest_user, request_user

if TYPE_CHECKING:
    from django.views import View

    _Base = View
else:
    _Base = object

Dispatch = Callable[..., Any]


class AccessMixin(_Base):
    """The attributes and hooks shared by the access mixins, as in Django."""

    #: Where anonymous users are sent; ``settings.LOGIN_URL`` when unset.
    login_url: str | None = None
    #: The message of the ``PermissionDenied`` raised for a 403.
    permission_denied_message: str = ""
    #: Answer 403 instead of redirecting anonymous users to the login page.
    raise_exception: bool = False
    #: The query parameter that carries where the user was going.
    redirect_field_name: str | None = REDIRECT_FIELD_NAME

    def get_login_url(self) -> str:
        """Override this method to override the login_url attribute."""
        login_url = self.login_url or settings.LOGIN_URL
        if not login_url:
            name = self.__class__.__name__
            raise ImproperlyConfigured(
                f"{name} is missing the login_url attribute. Define "
                f"{name}.login_url, settings.LOGIN_URL, or override "
                f"{name}.get_login_url()."
            )
        return str(login_url)

    def get_permission_denied_message(self) -> str:
        """Override this method to override the permission_denied_message attribute."""
        return self.permission_denied_message

    def get_redirect_field_name(self) -> str | None:
        """Override this method to override the redirect_field_name attribute."""
        return self.redirect_field_name

    def handle_no_permission(self) -> HttpResponseBase:
        """403 for an authenticated user (or ``raise_exception``), else the login redirect.

        Called in the event loop on async views: an override that queries the
        database must be ``async def``.
        """
        if self.raise_exception or request_user(self.request).is_authenticated:
            raise PermissionDenied(self.get_permission_denied_message())
        return login_redirect(
            self.request, self.get_login_url(), self.get_redirect_field_name()
        )

    def _dispatch_if(
        self,
        granted: Callable[[], bool],
        agranted: Callable[[], Awaitable[bool]],
        dispatch: Dispatch,
        request: HttpRequest,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Dispatch when the check passes; on an async view, return the coroutine that does."""
        if getattr(self, "view_is_async", False):
            return self._adispatch_if(agranted, dispatch, request, *args, **kwargs)
        if not granted():
            return call_hook(self.handle_no_permission)
        return dispatch(request, *args, **kwargs)

    async def _adispatch_if(
        self,
        agranted: Callable[[], Awaitable[bool]],
        dispatch: Dispatch,
        request: HttpRequest,
        *args: Any,
        **kwargs: Any,
    ) -> HttpResponseBase:
        """See _dispatch_if()."""
        await arequest_user(request)
        if not await agranted():
            return await aresult(self.handle_no_permission())
        response: HttpResponseBase = await aresult(dispatch(request, *args, **kwargs))
        return response


class LoginRequiredMixin(AccessMixin):
    """Verify that the current user is authenticated."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_if(
            self._is_logged_in,
            self._ais_logged_in,
            super().dispatch,
            request,
            *args,
            **kwargs,
        )

    def _is_logged_in(self) -> bool:
        return bool(request_user(self.request).is_authenticated)

    async def _ais_logged_in(self) -> bool:
        # The user is resolved by now: reading it costs no I/O.
        return self._is_logged_in()


class PermissionRequiredMixin(AccessMixin):
    """Verify that the current user has all specified permissions.

    ``get_permission_object()`` names the object the permissions are checked
    against (for object-permission backends such as django-guardian's); it
    returns None by default, which checks model permissions as Django does.
    """

    #: One permission (``"app_label.codename"``) or an iterable of them, all required.
    permission_required: str | Sequence[str] | None = None
    #: Tells ``AuthenticationMiddleware`` to load the user's model permissions
    #: in the thread hop that loads the user, so the check itself costs none.
    #: Set it to False when ``has_permission()`` checks no model permission.
    preload_permissions: bool = True

    def get_permission_required(self) -> Sequence[str]:
        """Override this method to override the permission_required attribute.

        Must return an iterable.
        """
        return permission_list(self.permission_required, self)

    def get_permission_object(self) -> Any:
        """The object to check the permissions against; may be ``async def``."""
        return None

    def has_permission(self) -> bool:
        """Override this method to customize the way permissions are checked.

        It may be ``def`` or ``async def``.
        """
        perms = self.get_permission_required()
        obj = call_hook(self.get_permission_object)
        return has_perms(request_user(self.request), perms, obj)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_if(
            self._has_permission,
            self._ahas_permission,
            super().dispatch,
            request,
            *args,
            **kwargs,
        )

    def _has_permission(self) -> bool:
        return bool(call_hook(self.has_permission))

    async def _ahas_permission(self) -> bool:
        # An overridden has_permission() is the whole check: await or thread it.
        if is_overridden(self, "has_permission", PermissionRequiredMixin):
            return bool(await acall_hook(self.has_permission))
        get_object = self.get_permission_object
        if not iscoroutinefunction(get_object) and is_overridden(
            self, "get_permission_object", PermissionRequiredMixin
        ):
            # A sync object lookup may query: run it and the check in one hop.
            return bool(await sync_to_async(self.has_permission)())
        perms = await aresult(self.get_permission_required())
        obj = await aresult(get_object())
        return await ahas_perms(self.request.user, perms, obj)


class UserPassesTestMixin(AccessMixin):
    """Deny a request with a permission error if the test_func() method returns False.

    ``test_func`` may be ``def`` or ``async def``; its result is always awaited
    before it is judged, on sync and async views alike.
    """

    def test_func(self) -> bool | Awaitable[bool]:
        """Return whether the request may proceed; define it as ``def`` or ``async def``."""
        raise NotImplementedError(
            f"{self.__class__.__name__} is missing the implementation of the "
            "test_func() method."
        )

    def get_test_func(self) -> Callable[[], bool | Awaitable[bool]]:
        """Override this method to use a different test_func method."""
        return self.test_func

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_if(
            self._passes_test,
            self._apasses_test,
            super().dispatch,
            request,
            *args,
            **kwargs,
        )

    def _passes_test(self) -> bool:
        return bool(call_hook(self.get_test_func()))

    async def _apasses_test(self) -> bool:
        return bool(await acall_hook(self.get_test_func()))


__all__ = [
    "AccessMixin",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "UserPassesTestMixin",
]
