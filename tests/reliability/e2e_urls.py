"""Pages that say whose they are and what they decided, for the isolation tests.

``/perm/<permission>/`` answers ``user=<name> perm=<permission> granted`` when
the user holds the permission, the 403 page ``user=<name> path=<path> denied``
when not, and the login redirect for anonymous clients.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import path

from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from async_auth_views.views import AsyncView
from tests.channels.urls import urlpatterns as session_urlpatterns


class Me(LoginRequiredMixin, AsyncView):
    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"user={request.user.get_username()}")


class Perm(LoginRequiredMixin, PermissionRequiredMixin, AsyncView):
    def get_permission_required(self) -> list[str]:
        return [self.kwargs["perm"]]

    async def get(self, request: HttpRequest, perm: str) -> HttpResponse:
        return HttpResponse(f"user={request.user.get_username()} perm={perm} granted")


def denied(request: HttpRequest, exception: Any) -> HttpResponse:
    return HttpResponseForbidden(
        f"user={request.user.get_username()} path={request.path} denied"
    )


handler403 = denied
urlpatterns = [
    *session_urlpatterns,
    path("me/", Me.as_view()),
    path("perm/<str:perm>/", Perm.as_view()),
]
