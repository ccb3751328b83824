"""The protected views the in-process reliability tests request, on the three kinds
of view (see ``tests.kinds``): each answers ``served <user>`` when it runs."""

from django.urls import path

from async_auth_views.mixins import (
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
)
from tests.kinds import KINDS, view_class
from tests.urls import urlpatterns as base_urlpatterns

from .faults import checked_test_func

PERMISSION = "auth.view_user"

urlpatterns = [*base_urlpatterns]
for kind in KINDS:
    urlpatterns += [
        path(f"{kind}/login/", view_class(kind, LoginRequiredMixin).as_view()),
        path(
            f"{kind}/perm/",
            view_class(
                kind,
                LoginRequiredMixin,
                PermissionRequiredMixin,
                permission_required=PERMISSION,
            ).as_view(),
        ),
        path(
            f"{kind}/test-func/",
            view_class(kind, UserPassesTestMixin, test_func=checked_test_func).as_view(),
        ),
    ]
