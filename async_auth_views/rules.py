"""The access rules: each decided once, with its sync and async decision side by side.

A rule knows nothing of views, consumers or decorators. It is asked about a
*user* and an *owner*, the object that carries the rule's attributes and hooks
(a view, a consumer, or whatever object a door builds). The owner inherits the
rule's hooks class (``PermissionHooks``, ``PassesTestHooks``, …, all built on
``AccessHooks``), so the rule knows which hooks are its own defaults, which do
no I/O and are called in the event loop, and which were overridden: an
``async`` override is awaited in the loop, a plain ``def`` one may query and
runs in a thread, with the check's other such hooks and the decision, in one
hop. Every hook's result is judged by what it finally returns (see
:mod:`async_auth_views.hooks`).

How a door uses a rule
----------------------

1. Its base class inherits ``AccessHooks`` and implements ``access_user()``
   (the user the default hooks read); each of its mixins inherits one rule's
   hooks class.
2. Before the check it has the user resolved: awaited on an async path, a
   lazy user evaluated on a sync path (so that no hook meets it inside an
   event loop).
3. It asks the rule: ``rule.check(owner, user)`` from sync code, or
   ``await rule.acheck(owner, user)`` (one thread hop at most; none when the
   answer is in memory). ``None`` grants; a :class:`Refusal` says why not.
4. It turns the refusal into its own answer. ``answer(refusal,
   raise_exception)`` applies ``raise_exception``; ``ANSWER_HOOKS[kind]``
   names the hooks whose results build that answer (``get_login_url()``,
   ``get_redirect_field_name()`` for ``LOGIN``; ``get_permission_denied_message()``
   for ``FORBIDDEN``; ``get_authenticated_redirect_url()`` for
   ``AUTHENTICATED``), to be read with ``hooks.call_hooks()`` or
   ``hooks.acall_hooks_then(owner, AccessHooks, ...)``.

An owner need not be a view: a door may build one for the occasion, e.g. a
function-view decorator's ``user_passes_test(test_func)`` can ask
``rules.passes_test`` about an instance of a ``PassesTestHooks`` subclass whose
``test_func`` attribute is ``functools.partial(test_func, user)`` (its shape is
judged exactly, so an ``async def`` test is awaited and a ``def`` one threaded),
and ``permission_required(perm)`` can ask ``rules.permissions`` about a
``PermissionHooks`` subclass with ``permission_required = perm``, whose
default hooks run in the event loop.

A new door is therefore: a base class with ``access_user()`` and its answer to
each refusal, and one line per rule (``rules.permissions.check(self, user)``).
A door with no object of its own to carry the hooks (a function-view
decorator, an API framework's permission class) builds one per check with
``owner_for(PermissionHooks, user, "permission_required", permission_required=perms)``.
A new rule is: a hooks class, a ``Rule`` with ``check()`` and ``acheck()``, and
one line per door.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Sequence
from functools import partial
from importlib import import_module
from typing import TYPE_CHECKING, Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import resolve_url
from django.utils import timezone

from .groups import ain_any_group, in_any_group
from .hooks import (
    acall_hooks_then,
    aresult,
    atruth,
    call_hook,
    call_hooks,
    is_overridden,
    runs_in_loop,
    truth,
    truth_or_awaitable,
    verdict,
)
from .permissions import ahas_perms, has_perms, permission_list, required_permissions

if TYPE_CHECKING:
    from .resolver import UserType


class Refusal(enum.Enum):
    """Why a rule refused, which decides the door's answer."""

    #: The user must log in (again): the login redirect, or 403 with ``raise_exception``.
    LOGIN = "login"
    #: 403 (``PermissionDenied``).
    FORBIDDEN = "forbidden"
    #: 404: the object's existence is not revealed (``return_404``).
    NOT_FOUND = "not_found"
    #: Only anonymous users may pass: redirect to ``get_authenticated_redirect_url()``.
    AUTHENTICATED = "authenticated"


#: The hooks whose results build the answer to each refusal, in that order.
ANSWER_HOOKS: dict[Refusal, tuple[str, ...]] = {
    Refusal.LOGIN: ("get_login_url", "get_redirect_field_name"),
    Refusal.FORBIDDEN: ("get_permission_denied_message",),
    Refusal.NOT_FOUND: (),
    Refusal.AUTHENTICATED: ("get_authenticated_redirect_url",),
}


def refusal_for(user: UserType) -> Refusal:
    """A failed check's refusal, as Django decides: log in if anonymous, else 403."""
    return Refusal.FORBIDDEN if user.is_authenticated else Refusal.LOGIN


def answer(refusal: Refusal, raise_exception: bool) -> Refusal:
    """The refusal to answer with: ``raise_exception`` turns the login redirect into 403."""
    if raise_exception and refusal is Refusal.LOGIN:
        return Refusal.FORBIDDEN
    return refusal


def wrong_door(cls: type, door: str, kind: str, serves: str, right: str) -> TypeError:
    """The error for a mixin of ``door`` (its public module, which protects
    ``serves``) on ``cls``, a ``kind`` that the ``right`` door protects."""
    mixin = next(b.__name__ for b in cls.__mro__ if b.__module__.startswith(door))
    if hasattr(import_module(right), mixin):
        fix = f"Use {right}.{mixin} instead."
    else:
        fix = (
            f"{right} has no {mixin}: write its rule as a UserPassesTestMixin's "
            "test_func()."
        )
    return TypeError(
        f"{cls.__name__} is {kind}, but {mixin} from {door} protects {serves}. {fix}"
    )


# Hooks: the attributes and default hooks of each rule, Django's names.


class AccessHooks:
    """The attributes and hooks every door shares, as ``django.contrib.auth.mixins.AccessMixin``."""

    #: Where anonymous users are sent; ``settings.LOGIN_URL`` when unset.
    login_url: str | None = None
    #: The message of the ``PermissionDenied`` raised for a 403.
    permission_denied_message: str = ""
    #: Answer 403 instead of redirecting anonymous users to the login page.
    raise_exception: bool = False
    #: The query parameter that carries where the user was going.
    redirect_field_name: str | None = REDIRECT_FIELD_NAME

    def access_user(self) -> UserType:
        """The user the default hooks judge; each door says where it is."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement access_user()."
        )

    def get_login_url(self) -> str:
        """Override this method to override the login_url attribute."""
        login_url = self.login_url or settings.LOGIN_URL
        if not login_url:
            name = type(self).__name__
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


class PermissionHooks(AccessHooks):
    """``PermissionRequiredMixin``'s attributes and hooks."""

    #: One permission (``"app_label.codename"``) or an iterable of them, all required.
    permission_required: str | Sequence[str] | None = None
    #: True: one of the permissions suffices (django-guardian's ``any_perm``).
    any_perm: bool = False
    #: True: with a permission object, holding the model-level permission also
    #: grants (django-guardian's ``accept_global_perms``).
    accept_global_perms: bool = False
    #: Tells the middleware to load the user's model permissions in the thread
    #: hop that loads the user, so the check itself costs none. Set it to False
    #: when ``has_permission()`` checks no model permission.
    preload_permissions: bool = True

    def get_permission_required(self) -> Sequence[str]:
        """Override this method to override the permission_required attribute.

        Must return an iterable (a str is one permission). May be ``async def``.
        """
        perms: Sequence[str] = permission_list(self.permission_required, self)
        return perms

    def get_permission_object(self) -> Any:
        """The object to check the permissions against; may be ``async def``.

        None (the default) checks model permissions, as Django does.
        """
        return None

    def has_permission(self) -> bool:
        """Override this method to customize the way permissions are checked.

        It may be ``def`` or ``async def``.
        """
        return permissions.holds(self, self.access_user())


class PassesTestHooks(AccessHooks):
    """``UserPassesTestMixin``'s hooks."""

    def test_func(self) -> Any:
        """Return whether the request may proceed; define it as ``def`` or ``async def``."""
        raise NotImplementedError(
            f"{type(self).__name__} is missing the implementation of the "
            "test_func() method."
        )

    def get_test_func(self) -> Any:
        """Override this method to use a different test_func method."""
        return self.test_func


class GroupHooks(AccessHooks):
    """``GroupRequiredMixin``'s attributes and hooks."""

    #: A group name or an iterable of names; the user must belong to at least one.
    group_required: str | Iterable[str] | None = None
    #: Tells the middleware to load the user's group names in the thread hop
    #: that loads the user, so the check itself costs none.
    preload_groups: bool = True

    def get_group_required(self) -> Iterable[str]:
        """Override this method to override the group_required attribute; may be ``async def``."""
        if self.group_required is None:
            name = type(self).__name__
            raise ImproperlyConfigured(
                f"{name} is missing the group_required attribute. Define "
                f"{name}.group_required, or override {name}.get_group_required()."
            )
        if isinstance(self.group_required, str):
            return (self.group_required,)
        return self.group_required


class RecentLoginHooks(AccessHooks):
    """``RecentLoginRequiredMixin``'s attributes."""

    #: How long ago (seconds) the user may have logged in.
    max_last_login_delta: float = 1800


class AnonymousHooks(AccessHooks):
    """``AnonymousRequiredMixin``'s attributes and hooks."""

    #: Where authenticated users are sent; ``settings.LOGIN_REDIRECT_URL`` when unset.
    authenticated_redirect_url: str | None = None

    def get_authenticated_redirect_url(self) -> str:
        """Override this method to override the authenticated_redirect_url attribute."""
        url = self.authenticated_redirect_url or settings.LOGIN_REDIRECT_URL
        if not url:
            name = type(self).__name__
            raise ImproperlyConfigured(
                f"{name} is missing the authenticated_redirect_url attribute. "
                f"Define {name}.authenticated_redirect_url, "
                f"settings.LOGIN_REDIRECT_URL, or override "
                f"{name}.get_authenticated_redirect_url()."
            )
        return str(resolve_url(url))


# Rules: the decisions.


class Rule:
    """An access rule; ``None`` grants, a :class:`Refusal` refuses."""

    def check(self, owner: Any, user: UserType) -> Refusal | None:
        """Decide from sync code (a sync view, or a thread)."""
        raise NotImplementedError

    async def acheck(self, owner: Any, user: UserType) -> Refusal | None:
        """See check(). In one thread hop at most; none when the answer is in memory."""
        raise NotImplementedError


class UserRule(Rule):
    """A rule decided by the user alone, in memory."""

    def passes(self, user: UserType) -> bool:
        raise NotImplementedError

    def check(self, owner: Any, user: UserType) -> Refusal | None:
        return None if self.passes(user) else refusal_for(user)

    async def acheck(self, owner: Any, user: UserType) -> Refusal | None:
        return self.check(owner, user)


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

    def check(self, owner: Any, user: UserType) -> Refusal | None:
        return Refusal.AUTHENTICATED if user.is_authenticated else None

    async def acheck(self, owner: Any, user: UserType) -> Refusal | None:
        return self.check(owner, user)


class RecentLoginRule(Rule):
    """The user logged in less than ``max_last_login_delta`` seconds ago.

    Older (or never recorded) logins are asked to log in again, with ``next``
    set and the session kept; a fresh login updates ``last_login``.
    """

    def check(self, owner: Any, user: UserType) -> Refusal | None:
        if not user.is_authenticated:
            return Refusal.LOGIN
        delta = owner.max_last_login_delta
        if isinstance(delta, bool) or not isinstance(
            delta, (int, float, datetime.timedelta)
        ):
            raise ImproperlyConfigured(
                f"{type(owner).__name__}.max_last_login_delta is {delta!r}: it "
                "must be a number of seconds."
            )
        if not isinstance(delta, datetime.timedelta):
            delta = datetime.timedelta(seconds=delta)
        last_login = getattr(user, "last_login", None)
        if last_login is None or timezone.now() - last_login > delta:
            return Refusal.LOGIN
        return None

    async def acheck(self, owner: Any, user: UserType) -> Refusal | None:
        return self.check(owner, user)


class PassesTestRule(Rule):
    """``get_test_func()``'s function returns true."""

    def check(self, owner: Any, user: UserType) -> Refusal | None:
        return None if truth(call_hook(owner.get_test_func)) else refusal_for(user)

    async def acheck(self, owner: Any, user: UserType) -> Refusal | None:
        if runs_in_loop(owner, "get_test_func", PassesTestHooks):
            test = await aresult(owner.get_test_func())
            passed = await atruth(test)
        else:
            # get_test_func() may query: it and its function share one hop.
            outcome = await sync_to_async(_test_in_thread)(owner)
            passed = verdict(await aresult(outcome), "test_func()")
        return None if passed else refusal_for(user)


def _test_in_thread(owner: Any) -> Any:
    return truth_or_awaitable(call_hook(owner.get_test_func))


class PermissionRule(Rule):
    """The user holds the permissions (all, or any), on the permission object if any."""

    _HOOKS = ("get_permission_required", "get_permission_object")

    def holds(self, owner: Any, user: UserType) -> bool:
        """The default ``has_permission()``: the permission check itself."""
        return self._decide(owner, user, *call_hooks(owner, self._HOOKS))

    def check(self, owner: Any, user: UserType) -> Refusal | None:
        if is_overridden(owner, "has_permission", PermissionHooks):
            granted = truth(owner.has_permission)
        else:
            granted = self.holds(owner, user)
        return None if granted else self._refusal(owner, user)

    async def acheck(self, owner: Any, user: UserType) -> Refusal | None:
        if is_overridden(owner, "has_permission", PermissionHooks):
            granted = await atruth(owner.has_permission)
        else:
            granted = await acall_hooks_then(
                owner,
                PermissionHooks,
                self._HOOKS,
                partial(self._decide, owner, user),
                partial(self._adecide, owner, user),
            )
        return None if granted else self._refusal(owner, user)

    def _decide(self, owner: Any, user: UserType, perms: Any, obj: Any) -> bool:
        return has_perms(user, required_permissions(perms, owner), obj, **_how(owner))

    async def _adecide(self, owner: Any, user: UserType, perms: Any, obj: Any) -> bool:
        """See _decide()."""
        perms = required_permissions(perms, owner)
        return await ahas_perms(user, perms, obj, **_how(owner))

    def _refusal(self, owner: Any, user: UserType) -> Refusal:
        if user.is_authenticated and getattr(owner, "return_404", False):
            return Refusal.NOT_FOUND
        return refusal_for(user)


def _how(owner: Any) -> dict[str, bool]:
    return {
        "any_perm": bool(owner.any_perm),
        "accept_global_perms": bool(owner.accept_global_perms),
    }


class GroupRule(Rule):
    """The user belongs to at least one of the groups; active superusers pass."""

    _HOOKS = ("get_group_required",)

    def check(self, owner: Any, user: UserType) -> Refusal | None:
        granted = self._decide(owner, user, *call_hooks(owner, self._HOOKS))
        return None if granted else refusal_for(user)

    async def acheck(self, owner: Any, user: UserType) -> Refusal | None:
        granted = await acall_hooks_then(
            owner,
            GroupHooks,
            self._HOOKS,
            partial(self._decide, owner, user),
            partial(self._adecide, owner, user),
        )
        return None if granted else refusal_for(user)

    def _decide(self, owner: Any, user: UserType, names: Any) -> bool:
        return in_any_group(user, _group_names(names, owner))

    async def _adecide(self, owner: Any, user: UserType, names: Any) -> bool:
        """See _decide()."""
        return await ain_any_group(user, _group_names(names, owner))


def _group_names(names: Any, owner: object) -> tuple[str, ...]:
    if isinstance(names, str):
        return (names,)
    try:
        found = tuple(names)
    except TypeError:
        raise ImproperlyConfigured(
            f"{type(owner).__name__}.get_group_required() returned {names!r}: it "
            "must return a group name or an iterable of them."
        ) from None
    if not all(isinstance(name, str) for name in found):
        raise ImproperlyConfigured(
            f"{type(owner).__name__}.get_group_required() returned {names!r}: "
            "each group must be given by its name, a str."
        )
    return found


# Owners for doors that have no object of their own.

HooksT = TypeVar("HooksT", bound=AccessHooks)


class _GivenUser:
    """``access_user()`` is the user the door was given."""

    _given_user: UserType

    def access_user(self) -> UserType:
        return self._given_user


_owner_classes: dict[tuple[type[Any], str], type[Any]] = {}


def _owner_class(hooks: type[Any], name: str) -> type[Any]:
    key = (hooks, name)
    if key not in _owner_classes:
        _owner_classes[key] = type(name, (_GivenUser, hooks), {"__module__": __name__})
    return _owner_classes[key]


def owner_for(
    hooks: type[HooksT], user: UserType, name: str, /, **attrs: Any
) -> HooksT:
    """An owner for a door with no object of its own (a decorator, an API permission class).

    An instance of ``hooks`` whose ``access_user()`` is ``user``, carrying
    ``attrs``: attributes (``permission_required="app.codename"``) or hooks
    given as callables with no argument (``test_func=partial(func, user)``),
    which the rule judges by their shape as it would a method (an ``async``
    one is awaited in the event loop, a plain one may query and runs in the
    check's thread hop). ``name`` is the class name the rule's error messages
    use.
    """
    owner: Any = _owner_class(hooks, name)()
    owner._given_user = user
    for attr, value in attrs.items():
        if not hasattr(owner, attr):
            raise TypeError(f"{hooks.__name__} has no attribute or hook {attr!r}.")
        setattr(owner, attr, value)
    return owner  # type: ignore[no-any-return]


#: The rules, one instance each: what a door asks.
login = LoginRule()
permissions = PermissionRule()
passes_test = PassesTestRule()
groups = GroupRule()
superuser = SuperuserRule()
staffuser = StaffuserRule()
recent_login = RecentLoginRule()
anonymous = AnonymousRule()

__all__ = [
    "ANSWER_HOOKS",
    "AccessHooks",
    "AnonymousHooks",
    "AnonymousRule",
    "GroupHooks",
    "GroupRule",
    "LoginRule",
    "PassesTestHooks",
    "PassesTestRule",
    "PermissionHooks",
    "PermissionRule",
    "RecentLoginHooks",
    "RecentLoginRule",
    "Refusal",
    "Rule",
    "StaffuserRule",
    "SuperuserRule",
    "UserRule",
    "anonymous",
    "answer",
    "groups",
    "login",
    "owner_for",
    "passes_test",
    "permissions",
    "recent_login",
    "refusal_for",
    "staffuser",
    "superuser",
]
