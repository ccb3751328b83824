"""The attributes and hooks each rule reads, with Django's names (internal).

The view and consumer mixins inherit these classes; the decisions in
``_decisions`` know from them which hooks are the library's own defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import resolve_url

from .._types import as_names
from ..hooks import call_hooks
from ..permissions import ahas_perms, has_perms, undeclared

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

    from .._types import UserType

#: Logs each denial of the permission rule (documented name: docs/mixins.rst).
logger = logging.getLogger("async_auth_views.permission_names")


def misplaced_mixin(
    cls: type, module: str, kind: str, serves: str, right: str
) -> TypeError:
    """The error for a mixin of ``module`` (which protects ``serves``) on
    ``cls``, a ``kind`` that the mixins of module ``right`` protect."""
    mixin = next(b.__name__ for b in cls.__mro__ if b.__module__.startswith(module))
    if hasattr(import_module(right), mixin):
        fix = f"Use {right}.{mixin} instead."
    else:
        fix = (
            f"{right} has no {mixin}: write its rule as a UserPassesTestMixin's "
            "test_func()."
        )
    return TypeError(
        f"{cls.__name__} is {kind}, but {mixin} from {module} protects {serves}. {fix}"
    )


class AccessHooks:
    """The attributes and hooks every protected object shares, as
    ``django.contrib.auth.mixins.AccessMixin``."""

    #: Where anonymous users are sent; ``settings.LOGIN_URL`` when unset.
    login_url: str | None = None
    #: The message of the ``PermissionDenied`` raised for a 403.
    permission_denied_message: str = ""
    #: Answer 403 instead of redirecting anonymous users to the login page.
    raise_exception: bool = False
    #: The query parameter that carries where the user was going.
    redirect_field_name: str | None = REDIRECT_FIELD_NAME

    def access_user(self) -> UserType:
        """The user the default hooks judge; each mixin says where it is."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement access_user()."
        )

    def access_session(self) -> SessionBase:
        """The session of the request or socket being judged; each mixin says where it is."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement access_session()."
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
        if self.permission_required is None:
            name = type(self).__name__
            raise ImproperlyConfigured(
                f"{name} is missing the permission_required attribute. Define "
                f"{name}.permission_required, or override "
                f"{name}.get_permission_required()."
            )
        if isinstance(self.permission_required, str):
            return (self.permission_required,)
        # As given, so that super().get_permission_required() + [...] works on a list.
        return self.permission_required

    def get_permission_object(self) -> Any:
        """The object to check the permissions against; may be ``async def``.

        None (the default) checks model permissions, as Django does.
        """
        return None

    def has_permission(self) -> bool:
        """Override this method to customize the way permissions are checked.

        It may be ``def`` or ``async def``.
        """
        return _holds(self, self.access_user(), *call_hooks(self, PERMISSION_HOOKS))


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

    #: How long ago (seconds) this session may have logged in.
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


# The default has_permission(), and the permission rule's decision.

#: The hooks whose results the permission check reads, in that order.
PERMISSION_HOOKS = ("get_permission_required", "get_permission_object")


def holds_permissions(
    user: UserType,
    names: tuple[str, ...],
    obj: Any = None,
    *,
    any_perm: bool = False,
    accept_global_perms: bool = False,
    asked_by: str,
) -> bool:
    """``permissions.has_perms()``, and a denial logged naming ``asked_by``.

    The permission rule's decision; the decorators and the DRF classes,
    which have no hooks, ask it directly.
    """
    how = {"any_perm": any_perm, "accept_global_perms": accept_global_perms}
    granted = has_perms(user, names, obj, **how)
    if not granted:
        _log_denial(asked_by, names, any_perm, obj)
    return granted


async def aholds_permissions(
    user: UserType,
    names: tuple[str, ...],
    obj: Any = None,
    *,
    any_perm: bool = False,
    accept_global_perms: bool = False,
    asked_by: str,
) -> bool:
    """See holds_permissions(). No thread hop when no backend would query, else one."""
    how = {"any_perm": any_perm, "accept_global_perms": accept_global_perms}
    granted = await ahas_perms(user, names, obj, **how)
    if not granted:
        _log_denial(asked_by, names, any_perm, obj)
    return granted


def _holds(protected: Any, user: UserType, perms: Any, obj: Any) -> bool:
    """holds_permissions(), as ``protected`` asks, from its hooks' results."""
    return holds_permissions(
        user, _permission_names(perms, protected), obj, **_how(protected)
    )


async def _aholds(protected: Any, user: UserType, perms: Any, obj: Any) -> bool:
    """See _holds()."""
    names = _permission_names(perms, protected)
    return await aholds_permissions(user, names, obj, **_how(protected))


def _how(protected: Any) -> dict[str, Any]:
    return {
        "any_perm": bool(protected.any_perm),
        "accept_global_perms": bool(protected.accept_global_perms),
        "asked_by": type(protected).__name__,
    }


def _permission_names(perms: Any, protected: object) -> tuple[str, ...]:
    """What ``get_permission_required()`` returned, as the tuple the check reads."""
    hook = f"{type(protected).__name__}.get_permission_required()"
    return as_names(
        perms,
        lambda value: ImproperlyConfigured(
            f"{hook} returned {value!r}: it must return a permission name or an "
            "iterable of them."
        ),
        lambda item: ImproperlyConfigured(
            f"{hook} returned {item!r} among its permissions: each must be an "
            "'app_label.codename' str."
        ),
    )


def _log_denial(
    asked_by: str, names: tuple[str, ...], any_perm: bool, obj: Any
) -> None:
    """Name the permissions a denied check required; a warning if one is undeclared."""
    what = f"{'one of' if any_perm else 'all of'} {', '.join(map(repr, names))}"
    if obj is not None:
        what += " on an object"
    unknown = undeclared(names)
    if unknown:
        logger.warning(
            "%s refused the request: it requires %s, and no installed model "
            "declares %s (a typo?): only active superusers pass, unless a "
            "backend of yours grants it.",
            asked_by,
            what,
            ", ".join(map(repr, unknown)),
        )
    else:
        logger.info("%s refused the request: it requires %s.", asked_by, what)
