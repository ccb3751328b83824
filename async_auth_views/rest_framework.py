"""Django REST framework's permission classes, asking every backend through this library's checks.

They subclass DRF's own classes and keep their names, attributes and
answers; their checks are sync, in the thread adrf already runs them in.
See docs/integrations.rst and docs/internals.rst, "Permissions: every
backend is asked". Installed with the ``rest`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.utils.translation import gettext as _

from .extras import require_extra

require_extra("rest_framework", "rest", __name__)

from rest_framework import permissions as drf  # noqa: E402

from . import rules  # noqa: E402
from .conf import require_app  # noqa: E402

if TYPE_CHECKING:
    from django.db.models import Model

    from ._types import UserType


def _holds(permission: Any, user: UserType, perms: Any, obj: Any = None) -> bool:
    """Whether ``user`` holds every permission in ``perms`` (on ``obj``).

    Sync: DRF runs permission classes in sync code (adrf, in its thread).
    """
    name = type(permission).__name__
    require_app(name)
    return rules.holds_permissions(user, tuple(perms), obj, asked_by=name)


def _authenticated(permission: Any, user: UserType) -> bool:
    require_app(type(permission).__name__)
    return rules.login_rule.passes(user)


class IsAuthenticated(drf.IsAuthenticated):  # type: ignore[misc]
    """Allow authenticated users only: DRF's ``IsAuthenticated``, asking the login rule.

    Reading ``request.user`` costs no query under
    ``async_auth_views.middleware.AuthenticationMiddleware``: DRF's
    ``SessionAuthentication`` returns the user the middleware resolved.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user) and _authenticated(self, user)


class DjangoModelPermissions(drf.DjangoModelPermissions):  # type: ignore[misc]
    """Require the model permissions ``perms_map`` names for the request's method.

    DRF's ``DjangoModelPermissions``, asking every backend through
    ``has_perms()``.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not user or (
            self.authenticated_users_only and not _authenticated(self, user)
        ):
            return False
        # DRF's DefaultRouter marks its root view so: it lists, it holds no model.
        if getattr(view, "_ignore_model_permissions", False):
            return True
        perms = self.get_required_permissions(request.method, _model(self, view))
        return _holds(self, user, perms)


class DjangoModelPermissionsOrAnonReadOnly(DjangoModelPermissions):
    """``DjangoModelPermissions`` that lets anonymous users read, as DRF's does."""

    authenticated_users_only = False


class DjangoObjectPermissions(DjangoModelPermissions, drf.DjangoObjectPermissions):  # type: ignore[misc]
    """Require the object permissions ``perms_map`` names, on the object itself.

    DRF's ``DjangoObjectPermissions``: an object-permission backend (such as
    django-guardian's or django-rules') decides; a user who may not read the
    object gets 404, so its existence is not disclosed, and one who may read
    but not change it gets 403. Both checks run in the same thread. The 404
    is the very answer DRF's ``get_object()`` gives for a missing object
    (DRF's own class answers ``"Not found."``, which tells the two apart).
    """

    def has_object_permission(self, request: Any, view: Any, obj: Model) -> bool:
        model = _model(self, view)

        def holds(method: str) -> bool:
            perms = self.get_required_object_permissions(method, model)
            return _holds(self, request.user, perms, obj)

        if holds(request.method):
            return True
        if request.method in drf.SAFE_METHODS or not holds("GET"):
            raise self.object_not_found(view, model)
        return False

    def object_not_found(self, view: Any, model: type[Model]) -> Exception:
        """What to raise for an object the user may not read: a missing object's answer.

        ``Http404`` with the message of Django's ``get_object_or_404()``,
        which DRF's and adrf's ``get_object()`` raise when no object matches.
        Override it if your view answers a missing object otherwise.
        """
        return Http404(
            # The msgid of django.shortcuts.get_object_or_404(): same translation.
            _("No %s matches the given query.") % model._meta.object_name
        )


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
