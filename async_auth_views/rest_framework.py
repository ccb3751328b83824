"""Django REST framework's permission classes, asking through this library's checks.

``IsAuthenticated``, ``DjangoModelPermissions``,
``DjangoModelPermissionsOrAnonReadOnly`` and ``DjangoObjectPermissions`` keep
DRF's names, attributes and answers, and subclass DRF's own classes:
``perms_map`` by method, the model from the view's ``queryset`` or
``get_queryset()``, 405 for a method ``perms_map`` does not name, and for
object permissions a 404 to whoever may not read the object and a 403 to
whoever may read but not change it. What differs is how they ask: they are
this library's API door, asking the login and permission rules of
:mod:`async_auth_views.rules` (as the view mixins and decorators do), whose
check, ``async_auth_views.permissions.has_perms()``, asks every backend
(django-guardian's, django-rules', ...) and loads the user's model permissions
with one statement where ``ModelBackend`` takes two, none when the middleware
preloaded them for a view whose class sets ``preload_permissions = True``.

The checks are sync, on DRF views and adrf views alike. adrf runs every
permission check in a worker thread (its ``initial()``, and since 0.1.12 its
``aget_object()``, go through ``sync_to_async``), so a sync check runs in the
hop adrf already pays, queries included, and never in the event loop. An
``async def has_permission()`` would cost adrf a trip back to the event loop
and, for a sync-only backend, a second thread; and a DRF view calls it without
awaiting, so its coroutine, which is truthy, would grant every request.

Installed with the ``rest`` extra: ``pip install "async-auth-views[rest]"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404

from .extras import require_extra

require_extra("rest_framework", "rest", __name__)

from rest_framework import permissions as drf  # noqa: E402

from . import rules  # noqa: E402
from .conf import require_app  # noqa: E402

if TYPE_CHECKING:
    from django.db.models import Model

    from .resolver import UserType


def _grants(
    rule: rules.Rule,
    hooks: type[rules.AccessHooks],
    user: UserType,
    name: str,
    **attrs: Any,
) -> bool:
    """Whether ``rule`` grants ``user``, asked about a ``hooks`` owner carrying ``attrs``.

    Sync: DRF runs permission classes in sync code (adrf, in its thread).
    """
    require_app(name)
    return rule.check(rules.owner_for(hooks, user, name, **attrs), user) is None


class IsAuthenticated(drf.IsAuthenticated):  # type: ignore[misc]
    """Allow authenticated users only: DRF's ``IsAuthenticated``, asking the login rule.

    Reading ``request.user`` costs no query under
    ``async_auth_views.middleware.AuthenticationMiddleware``: DRF's
    ``SessionAuthentication`` returns the user the middleware resolved.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user) and _grants(
            rules.login, rules.AccessHooks, user, type(self).__name__
        )


class DjangoModelPermissions(drf.DjangoModelPermissions):  # type: ignore[misc]
    """Require the model permissions ``perms_map`` names for the request's method.

    DRF's ``DjangoModelPermissions``, asking every backend through
    ``has_perms()``.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        user, name = request.user, type(self).__name__
        if not user or (
            self.authenticated_users_only
            and not _grants(rules.login, rules.AccessHooks, user, name)
        ):
            return False
        # DRF's DefaultRouter marks its root view so: it lists, it holds no model.
        if getattr(view, "_ignore_model_permissions", False):
            return True
        perms = self.get_required_permissions(request.method, _model(self, view))
        return _grants(
            rules.permissions,
            rules.PermissionHooks,
            user,
            name,
            permission_required=perms,
        )


class DjangoModelPermissionsOrAnonReadOnly(DjangoModelPermissions):
    """``DjangoModelPermissions`` that lets anonymous users read, as DRF's does."""

    authenticated_users_only = False


class DjangoObjectPermissions(DjangoModelPermissions, drf.DjangoObjectPermissions):  # type: ignore[misc]
    """Require the object permissions ``perms_map`` names, on the object itself.

    DRF's ``DjangoObjectPermissions``: an object-permission backend (such as
    django-guardian's or django-rules') decides; a user who may not read the
    object gets 404, so its existence is not disclosed, and one who may read
    but not change it gets 403. Both checks run in the same thread.
    """

    def has_object_permission(self, request: Any, view: Any, obj: Model) -> bool:
        model = _model(self, view)

        def holds(method: str) -> bool:
            return _grants(
                rules.permissions,
                rules.PermissionHooks,
                request.user,
                type(self).__name__,
                permission_required=self.get_required_object_permissions(method, model),
                get_permission_object=lambda: obj,
            )

        if holds(request.method):
            return True
        if request.method in drf.SAFE_METHODS or not holds("GET"):
            raise Http404
        return False


def _model(permission: Any, view: Any) -> type[Model]:
    """The model of the view's queryset, with DRF's error when it has none."""
    model: type[Model] = permission._queryset(view).model
    return model


__all__ = [
    "DjangoModelPermissions",
    "DjangoModelPermissionsOrAnonReadOnly",
    "DjangoObjectPermissions",
    "IsAuthenticated",
]
