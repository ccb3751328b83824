"""Async-aware access mixins for class-based views: Django's, and the rules people ask for.

``LoginRequiredMixin``, ``PermissionRequiredMixin`` and ``UserPassesTestMixin``
keep Django's names, attributes and hooks (``django.contrib.auth.mixins``), so
moving a project over is one import line; ``AnonymousRequiredMixin``,
``GroupRequiredMixin``, ``SuperuserRequiredMixin``, ``StaffuserRequiredMixin``
and ``RecentLoginRequiredMixin`` are django-braces' rules, made async. One
class serves sync and async views: on an async view ``dispatch()`` returns a
coroutine that resolves the user, runs the check, and only then dispatches.

This module is the view door: each rule is decided in
:mod:`async_auth_views.rules`; here a refusal becomes Django's answer (the
login redirect, ``PermissionDenied`` or ``Http404``). Nothing queries the
database in the event loop: a plain ``def`` hook a view overrides runs in a
thread, in one hop per check; ``async def`` hooks are awaited. Any exception
in a check propagates, so the view is never served when a check fails.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.utils.decorators import classonlymethod

from . import rules
from .conf import require_app
from .hooks import (
    acall_hook,
    acall_hooks_then,
    aresult,
    call_hook,
    call_hooks,
    is_overridden,
)
from .redirects import login_redirect
from .resolver import UserType, arequest_user, request_user, settle_user
from .rules import Refusal

if TYPE_CHECKING:
    from django.views import View

    _Base = View
else:
    _Base = object

Dispatch = Callable[..., Any]


class AccessMixin(rules.AccessHooks, _Base):
    """The attributes and hooks shared by the access mixins, as in Django."""

    #: Why the check being answered refused; None outside a refusal.
    _access_refusal: Refusal | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A consumer's class imported Channels: no consumer without it.
        consumer = sys.modules.get("channels.consumer")
        if consumer is not None and issubclass(cls, consumer.AsyncConsumer):
            raise rules.wrong_door(
                cls,
                __name__,
                "a Channels consumer",
                "views",
                "async_auth_views.channels",
            )

    def access_user(self) -> UserType:
        return request_user(self.request)

    def handle_no_permission(self) -> HttpResponseBase:
        """403 for an authenticated user (or ``raise_exception``), else the login redirect.

        On an async view a plain ``def`` override runs in a thread, so it may
        query the database; an ``async def`` one is awaited.
        """
        refusal = self._answer_to(self._access_refusal)
        return self._answer(refusal, *call_hooks(self, rules.ANSWER_HOOKS[refusal]))

    def _answer_to(self, refusal: Refusal | None) -> Refusal:
        if refusal is None:  # called by the view itself, as Django allows
            refusal = rules.refusal_for(request_user(self.request))
        return rules.answer(refusal, self.raise_exception)

    def _answer(self, refusal: Refusal, *values: Any) -> HttpResponseBase:
        """The response (or exception) that says ``refusal``, from its hooks' ``values``."""
        if refusal is Refusal.LOGIN:
            login_url, redirect_field_name = values
            return login_redirect(self.request, login_url, redirect_field_name)
        if refusal is Refusal.AUTHENTICATED:
            return HttpResponseRedirect(values[0])
        if refusal is Refusal.NOT_FOUND:
            raise Http404
        raise PermissionDenied(*values)

    def _dispatch_checked(
        self,
        rule: rules.Rule,
        dispatch: Dispatch,
        request: HttpRequest,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Dispatch when ``rule`` grants; on an async view, return the coroutine that does."""
        require_app(self)
        if getattr(self, "view_is_async", False):
            return self._adispatch_checked(rule, dispatch, request, *args, **kwargs)
        # A lazy user is resolved here, so no async hook meets it in an event loop.
        refusal = rule.check(self, settle_user(request))
        if refusal is not None:
            return self._refuse(refusal)
        return dispatch(request, *args, **kwargs)

    async def _adispatch_checked(
        self,
        rule: rules.Rule,
        dispatch: Dispatch,
        request: HttpRequest,
        *args: Any,
        **kwargs: Any,
    ) -> HttpResponseBase:
        """See _dispatch_checked()."""
        refusal = await rule.acheck(self, await arequest_user(request))
        if refusal is not None:
            return await self._arefuse(refusal)
        response: HttpResponseBase = await aresult(dispatch(request, *args, **kwargs))
        return response

    def _refuse(self, refusal: Refusal) -> HttpResponseBase:
        if refusal is Refusal.AUTHENTICATED:
            hooks = rules.ANSWER_HOOKS[refusal]
            return self._answer(refusal, *call_hooks(self, hooks))
        self._access_refusal = refusal
        response: HttpResponseBase = call_hook(self.handle_no_permission)
        return response

    async def _arefuse(self, refusal: Refusal) -> HttpResponseBase:
        """See _refuse(). One thread hop when a hook it calls is a plain ``def`` override."""
        if refusal is not Refusal.AUTHENTICATED:
            self._access_refusal = refusal
            if is_overridden(self, "handle_no_permission", AccessMixin):
                response: HttpResponseBase = await acall_hook(self.handle_no_permission)
                return response
            refusal = self._answer_to(refusal)
        base = (
            rules.AnonymousHooks
            if refusal is Refusal.AUTHENTICATED
            else rules.AccessHooks
        )
        return await acall_hooks_then(
            self,
            base,
            rules.ANSWER_HOOKS[refusal],
            lambda *values: self._answer(refusal, *values),
        )


class LoginRequiredMixin(AccessMixin):
    """Verify that the current user is authenticated."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.login, super().dispatch, request, *args, **kwargs
        )


class PermissionRequiredMixin(rules.PermissionHooks, AccessMixin):
    """Verify that the current user has all specified permissions.

    ``get_permission_object()`` names the object the permissions are checked
    against (for object-permission backends such as django-guardian's); it
    returns None by default, which checks model permissions as Django does.
    ``any_perm``, ``accept_global_perms`` and ``return_404`` have
    django-guardian's meanings.
    """

    #: True: an authenticated user who is refused gets 404 instead of 403, so
    #: that a permission object's existence is not revealed.
    return_404: bool = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.permissions, super().dispatch, request, *args, **kwargs
        )


class UserPassesTestMixin(rules.PassesTestHooks, AccessMixin):
    """Deny a request with a permission error if the test_func() method returns False.

    ``test_func`` may be ``def`` or ``async def``; its result is always awaited
    before it is judged, on sync and async views alike.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.passes_test, super().dispatch, request, *args, **kwargs
        )


class AnonymousRequiredMixin(rules.AnonymousHooks, AccessMixin):
    """Let only anonymous users in; send authenticated ones to ``authenticated_redirect_url``.

    For sign-up and login pages. ``authenticated_redirect_url`` defaults to
    ``settings.LOGIN_REDIRECT_URL``; override ``get_authenticated_redirect_url()``
    (``def`` or ``async def``) to choose per request. The view is exempt
    from ``LoginRequiredMiddleware``, as ``login_not_required`` makes a view:
    a page only anonymous users may see cannot require a login.
    """

    @classonlymethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view: Any = super().as_view(**initkwargs)
        view.login_required = False
        return view

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.anonymous, super().dispatch, request, *args, **kwargs
        )


class GroupRequiredMixin(rules.GroupHooks, AccessMixin):
    """Verify that the current user belongs to at least one of ``group_required``.

    Active superusers always pass. The user's group names are loaded by the
    middleware with the user (``preload_groups``), so the check costs no query.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.groups, super().dispatch, request, *args, **kwargs
        )


class SuperuserRequiredMixin(AccessMixin):
    """Verify that the current user is an active superuser."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.superuser, super().dispatch, request, *args, **kwargs
        )


class StaffuserRequiredMixin(AccessMixin):
    """Verify that the current user is active staff (``is_staff``)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.staffuser, super().dispatch, request, *args, **kwargs
        )


class RecentLoginRequiredMixin(rules.RecentLoginHooks, AccessMixin):
    """Verify that the current user logged in less than ``max_last_login_delta`` seconds ago.

    An older login (or none recorded) is sent to the login URL with ``next``,
    keeping the session: logging in again updates ``last_login`` and lets the
    user through. With ``raise_exception``, it is a 403 instead.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.recent_login, super().dispatch, request, *args, **kwargs
        )


__all__ = [
    "AccessMixin",
    "AnonymousRequiredMixin",
    "GroupRequiredMixin",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "RecentLoginRequiredMixin",
    "StaffuserRequiredMixin",
    "SuperuserRequiredMixin",
    "UserPassesTestMixin",
]
