"""The protected views the in-process reliability tests request, on the three kinds
of view (see ``tests.kinds``): each answers ``served <user>`` when it runs."""

from django.contrib.auth.views import LoginView
from django.urls import path, re_path

from async_auth_views.mixins import (
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
)
from tests.kinds import KINDS, view_class
from tests.urls import urlpatterns as base_urlpatterns

from .faults import checked_test_func

PERMISSION = "auth.view_user"

urlpatterns = [*base_urlpatterns, path("accounts/login/", LoginView.as_view())]
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
            view_class(
                kind, UserPassesTestMixin, test_func=checked_test_func
            ).as_view(),
        ),
    ]

# Any other path is a protected page: requests for odd paths reach the mixin.
urlpatterns.append(re_path(r"", view_class("async", LoginRequiredMixin).as_view()))
