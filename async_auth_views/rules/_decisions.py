"""The decisions: each rule decided once, sync (``check()``) and async (``acheck()``).

A rule is asked about a user and the protected object (a view, a consumer)
whose attributes and hooks configure it; ``None`` grants, a :class:`Denial`
says what the answer must be. See docs/internals.rst, "Rules once, adapters thin".
"""

from __future__ import annotations

import datetime
import enum
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404

from .._types import as_names
from ..groups import ain_any_group, in_any_group
from ..hooks import (
    acall,
    acall_hooks,
    call,
    call_hooks,
    is_async_callable,
    is_overridden,
)
from ..login_time import alogin_time, logged_in_within, login_time
from ._hooks import (
    PERMISSION_HOOKS,
    GroupHooks,
    PassesTestHooks,
    PermissionHooks,
    _aholds,
    _holds,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.contrib.sessions.backends.base import SessionBase

    from .._types import UserType


class Denial(enum.Enum):
    """Why a rule denied, which decides the answer."""

    #: The user must log in (again): the login redirect, or 403 with ``raise_exception``.
    LOGIN = "login"
    #: 403 (``PermissionDenied``).
    FORBIDDEN = "forbidden"
    #: 404: the object's existence is not revealed (``return_404``).
    NOT_FOUND = "not_found"
    #: Only anonymous users may pass: redirect to ``get_authenticated_redirect_url()``.
    AUTHENTICATED = "authenticated"


def denial_for(user: UserType) -> Denial:
    """A failed check's denial, as Django decides: log in if anonymous, else 403."""
    return Denial.FORBIDDEN if user.is_authenticated else Denial.LOGIN


# Rules: the decisions.


class Rule:
    """An access rule; ``None`` grants, a :class:`Denial` refuses."""

    def check(self, protected: Any, user: UserType) -> Denial | None:
        """Decide from sync code (a sync view, or a thread)."""
        raise NotImplementedError

    async def acheck(self, protected: Any, user: UserType) -> Denial | None:
        """See check(). In one thread hop at most; none when the answer is in memory."""
        raise NotImplementedError


class UserRule(Rule):
    """A rule decided by the user alone, in memory."""

    def passes(self, user: UserType) -> bool:
        raise NotImplementedError

    def check(self, protected: Any, user: UserType) -> Denial | None:
        return None if self.passes(user) else denial_for(user)

    async def acheck(self, protected: Any, user: UserType) -> Denial | None:
        return self.check(protected, user)


class LoginRule(UserRule):
    """The user is authenticated."""

    def passes(self, user: UserType) -> bool:
        return bool(user.is_authenticated)


class SuperuserRule(UserRule):
    """The user is an active superuser."""

    def passes(self, user: UserType) -> bool:
        return bool(
            user.is_authenticated
            and user.is_active
            and getattr(user, "is_superuser", False)
        )


class StaffuserRule(UserRule):
    """The user is active staff, as ``staff_member_required`` decides."""

    def passes(self, user: UserType) -> bool:
        return bool(
            user.is_authenticated
            and user.is_active
            and getattr(user, "is_staff", False)
        )


class AnonymousRule(Rule):
    """Only anonymous users pass; others are sent elsewhere."""

    def check(self, protected: Any, user: UserType) -> Denial | None:
        return self.decide(user)

    async def acheck(self, protected: Any, user: UserType) -> Denial | None:
        return self.decide(user)

    def decide(self, user: UserType) -> Denial | None:
        """The decision, in memory, for a caller without a protected object."""
        return Denial.AUTHENTICATED if user.is_authenticated else None


class RecentLoginRule(Rule):
    """This session logged in less than ``max_last_login_delta`` seconds ago.

    The time is the session's own, recorded at login (see
    :mod:`async_auth_views.login_time`), never the user's ``last_login``:
    another device's login does not make this session recent. A session that
    recorded none, and an anonymous user, must log in (again).
    """

    def check(self, protected: Any, user: UserType) -> Denial | None:
        return self.decide(
            user,
            protected.access_session,
            protected.max_last_login_delta,
            type(protected).__name__,
        )

    async def acheck(self, protected: Any, user: UserType) -> Denial | None:
        return await self.adecide(
            user,
            protected.access_session,
            protected.max_last_login_delta,
            type(protected).__name__,
        )

    def decide(
        self,
        user: UserType,
        session: Callable[[], SessionBase],
        max_last_login_delta: object,
        asked_by: str,
    ) -> Denial | None:
        """The decision for a caller without a protected object.

        ``session()`` is asked for an authenticated user only; ``asked_by``
        names the caller in the error for a ``max_last_login_delta`` that is
        no number of seconds.
        """
        if not user.is_authenticated:
            return Denial.LOGIN
        seconds = _seconds(max_last_login_delta, asked_by)
        logged_in_at = login_time(session())
        return None if logged_in_within(logged_in_at, seconds) else Denial.LOGIN

    async def adecide(
        self,
        user: UserType,
        session: Callable[[], SessionBase],
        max_last_login_delta: object,
        asked_by: str,
    ) -> Denial | None:
        """See decide(). One thread hop when the session is not loaded yet."""
        if not user.is_authenticated:
            return Denial.LOGIN
        seconds = _seconds(max_last_login_delta, asked_by)
        logged_in_at = await alogin_time(session())
        return None if logged_in_within(logged_in_at, seconds) else Denial.LOGIN


def _seconds(delta: object, asked_by: str) -> float:
    """``max_last_login_delta`` in seconds; a clear error when it is none."""
    if isinstance(delta, datetime.timedelta):
        return delta.total_seconds()
    if isinstance(delta, bool) or not isinstance(delta, (int, float)):
        raise ImproperlyConfigured(
            f"{asked_by}.max_last_login_delta is {delta!r}: it must be a number "
            "of seconds."
        )
    return float(delta)


class PassesTestRule(Rule):
    """``get_test_func()``'s function returns true."""

    def check(self, protected: Any, user: UserType) -> Denial | None:
        return (
            None
            if call(call(protected.get_test_func), check=True)
            else denial_for(user)
        )

    async def acheck(self, protected: Any, user: UserType) -> Denial | None:
        get_test_func = protected.get_test_func
        if is_async_callable(get_test_func) or not is_overridden(
            protected, "get_test_func", PassesTestHooks
        ):
            passed = await acall(await acall(get_test_func, inline=True), check=True)
        else:
            # get_test_func() may query: it and its function share one hop.
            test = partial(_run_test, get_test_func)
            passed = await acall(test, check=True, source="test_func()")
        return None if passed else denial_for(user)


def _run_test(get_test_func: Any) -> Any:
    """What the function ``get_test_func()`` returns returns, not yet awaited."""
    return call(get_test_func)()


class PermissionRule(Rule):
    """The user holds the permissions (all, or any), on the permission object if any."""

    def check(self, protected: Any, user: UserType) -> Denial | None:
        try:
            if is_overridden(protected, "has_permission", PermissionHooks):
                granted = call(protected.has_permission, check=True)
            else:
                hooks = call_hooks(protected, PERMISSION_HOOKS)
                granted = _holds(protected, user, *hooks)
        except Http404:
            # A hook found no object: hidden and missing must answer alike.
            if not _hides_existence(protected):
                raise
            granted = False
        return None if granted else self._denial(protected, user)

    async def acheck(self, protected: Any, user: UserType) -> Denial | None:
        try:
            if is_overridden(protected, "has_permission", PermissionHooks):
                granted = await acall(protected.has_permission, check=True)
            else:
                granted = await acall_hooks(
                    protected,
                    PermissionHooks,
                    PERMISSION_HOOKS,
                    partial(_holds, protected, user),
                    partial(_aholds, protected, user),
                )
        except Http404:
            # A hook found no object: hidden and missing must answer alike.
            if not _hides_existence(protected):
                raise
            granted = False
        return None if granted else self._denial(protected, user)

    def _denial(self, protected: Any, user: UserType) -> Denial:
        if user.is_authenticated and _hides_existence(protected):
            return Denial.NOT_FOUND
        return denial_for(user)


def _hides_existence(protected: Any) -> bool:
    """``return_404``: a denied user learns nothing of whether the object exists.

    A hook that finds no object (``Http404``) is then a denial too, so a
    missing object and a hidden one get the same answer: one ``Http404`` for
    an authenticated user, the login redirect for an anonymous one.
    """
    return bool(getattr(protected, "return_404", False))


class GroupRule(Rule):
    """The user belongs to at least one of the groups; active superusers pass."""

    _HOOKS = ("get_group_required",)

    def check(self, protected: Any, user: UserType) -> Denial | None:
        granted = self._decide(protected, user, *call_hooks(protected, self._HOOKS))
        return None if granted else denial_for(user)

    async def acheck(self, protected: Any, user: UserType) -> Denial | None:
        granted = await acall_hooks(
            protected,
            GroupHooks,
            self._HOOKS,
            partial(self._decide, protected, user),
            partial(self._adecide, protected, user),
        )
        return None if granted else denial_for(user)

    def _decide(self, protected: Any, user: UserType, names: Any) -> bool:
        return in_any_group(user, _group_names(names, protected))

    async def _adecide(self, protected: Any, user: UserType, names: Any) -> bool:
        """See _decide()."""
        return await ain_any_group(user, _group_names(names, protected))


def _group_names(names: Any, protected: object) -> tuple[str, ...]:
    """What ``get_group_required()`` returned, as the tuple the check reads."""
    hook = f"{type(protected).__name__}.get_group_required()"
    return as_names(
        names,
        lambda value: ImproperlyConfigured(
            f"{hook} returned {value!r}: it must return a group name or an "
            "iterable of them."
        ),
        lambda _item: ImproperlyConfigured(
            f"{hook} returned {names!r}: each group must be given by its name, a str."
        ),
    )


#: The rules, one instance each: what the mixins and decorators ask.
login_rule = LoginRule()
permission_rule = PermissionRule()
test_rule = PassesTestRule()
group_rule = GroupRule()
superuser_rule = SuperuserRule()
staff_rule = StaffuserRule()
recent_login_rule = RecentLoginRule()
anonymous_rule = AnonymousRule()
