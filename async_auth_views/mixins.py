"""Access mixins for class-based views, sync and async: Django's three, and django-braces' rules.

Each mixin asks one rule of ``rules`` before ``dispatch()`` and renders a
denial through ``answers``. See docs/mixins.rst and docs/internals.rst.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import classonlymethod

from . import answers, rules
from ._types import UserType
from .conf import require_app
from .hooks import acall, aresult, call, is_overridden
from .resolver import (
    _require_user,
    arequest_user,
    request_session,
    request_user,
)
from .rules import Denial

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.views import View

    _Base = View
else:
    _Base = object

_Dispatch = Callable[..., Any]


class AccessMixin(rules.AccessHooks, _Base):
    """The attributes and hooks shared by the access mixins, as in Django."""

    #: The denial being answered; None outside one.
    _denial: Denial | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A consumer's class imported Channels: no consumer without it.
        consumer = sys.modules.get("channels.consumer")
        if consumer is not None and issubclass(cls, consumer.AsyncConsumer):
            raise rules.misplaced_mixin(
                cls,
                __name__,
                "a Channels consumer",
                "views",
                "async_auth_views.channels",
            )

    def access_user(self) -> UserType:
        return _require_user(self.request)

    def access_session(self) -> SessionBase:
        return request_session(self.request)

    def handle_no_permission(self) -> HttpResponseBase:
        """403 for an authenticated user (or ``raise_exception``), else the login redirect.

        On an async view a plain ``def`` override runs in a thread, so it may
        query the database; an ``async def`` one is awaited.
        """
        # Called by the view itself, as Django allows, nothing was denied yet.
        denial = self._denial or rules.denial_for(_require_user(self.request))
        return answers.response(self.request, answers.answer_for(self, denial))

    def _dispatch_checked(
        self,
        rule: rules.Rule,
        dispatch: _Dispatch,
        request: HttpRequest,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """_Dispatch when ``rule`` grants; on an async view, return the coroutine that does."""
        require_app(self)
        if getattr(self, "view_is_async", False):
            return self._adispatch_checked(rule, dispatch, request, *args, **kwargs)
        # A lazy user is resolved here, so no async hook meets it in an event loop.
        denial = rule.check(self, request_user(request))
        if denial is not None:
            return self._deny(denial)
        return dispatch(request, *args, **kwargs)

    async def _adispatch_checked(
        self,
        rule: rules.Rule,
        dispatch: _Dispatch,
        request: HttpRequest,
        *args: Any,
        **kwargs: Any,
    ) -> HttpResponseBase:
        """See _dispatch_checked()."""
        denial = await rule.acheck(self, await arequest_user(request))
        if denial is not None:
            return await self._adeny(denial)
        response: HttpResponseBase = await aresult(dispatch(request, *args, **kwargs))
        return response

    def _deny(self, denial: Denial) -> HttpResponseBase:
        """Answer ``denial``: through ``handle_no_permission()``, Django's hook,
        except for the anonymous-only rule's redirect, which is no permission error."""
        if denial is Denial.AUTHENTICATED:
            return answers.response(self.request, answers.answer_for(self, denial))
        self._denial = denial
        response: HttpResponseBase = call(self.handle_no_permission)
        return response

    async def _adeny(self, denial: Denial) -> HttpResponseBase:
        """See _deny(). One thread hop when a hook it calls is a plain ``def`` override."""
        if denial is not Denial.AUTHENTICATED:
            self._denial = denial
            if is_overridden(self, "handle_no_permission", AccessMixin):
                response: HttpResponseBase = await acall(self.handle_no_permission)
                return response
        answer = await answers.aanswer_for(self, denial)
        return answers.response(self.request, answer)


class LoginRequiredMixin(AccessMixin):
    """Verify that the current user is authenticated."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.login_rule, super().dispatch, request, *args, **kwargs
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
            rules.permission_rule, super().dispatch, request, *args, **kwargs
        )


class UserPassesTestMixin(rules.PassesTestHooks, AccessMixin):
    """Deny a request with a permission error if the test_func() method returns False.

    ``test_func`` may be ``def`` or ``async def``; its result is always awaited
    before it is judged, on sync and async views alike.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.test_rule, super().dispatch, request, *args, **kwargs
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
            rules.anonymous_rule, super().dispatch, request, *args, **kwargs
        )


class GroupRequiredMixin(rules.GroupHooks, AccessMixin):
    """Verify that the current user belongs to at least one of ``group_required``.

    Active superusers always pass. The user's group names are loaded by the
    middleware with the user (``preload_groups``), so the check costs no query.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.group_rule, super().dispatch, request, *args, **kwargs
        )


class SuperuserRequiredMixin(AccessMixin):
    """Verify that the current user is an active superuser."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.superuser_rule, super().dispatch, request, *args, **kwargs
        )


class StaffuserRequiredMixin(AccessMixin):
    """Verify that the current user is active staff (``is_staff``)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.staff_rule, super().dispatch, request, *args, **kwargs
        )


class RecentLoginRequiredMixin(rules.RecentLoginHooks, AccessMixin):
    """Verify that this session logged in less than ``max_last_login_delta`` seconds ago.

    The time is the session's own, recorded at login, not the user's
    ``last_login``. An older login (or none recorded) is sent to the login
    URL with ``next``, keeping the session: logging in again lets the user
    through. With ``raise_exception``, it is a 403 instead.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch_checked(
            rules.recent_login_rule, super().dispatch, request, *args, **kwargs
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
