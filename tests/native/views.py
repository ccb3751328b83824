"""Views behind the library's middlewares, for the native-mode request tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from async_auth_views.mixins import GroupRequiredMixin, PermissionRequiredMixin
from async_auth_views.views import AsyncView


class Protected(PermissionRequiredMixin, AsyncView):
    """Login and two permissions, as the benchmark's protected view."""

    permission_required = ("auth.add_user", "auth.change_user")
    raise_exception = True

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"hello {request.user.get_username()}")


class Editors(GroupRequiredMixin, AsyncView):
    group_required = "editors"
    raise_exception = True

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("editor")


class ProtectedNotPreloaded(Protected):
    """The check itself loads the permissions (as a DRF class or a hook may)."""

    preload_permissions = False


class EditorsNotPreloaded(Editors):
    preload_groups = False


async def remember(request: HttpRequest) -> HttpResponse:
    """Writes the session: the response saves it."""
    request.session["visits"] = request.session.get("visits", 0) + 1
    return HttpResponse(f"visits {request.session['visits']}")


async def logged_out_elsewhere(request: HttpRequest) -> HttpResponse:
    """Writes the session, whose row another request deletes meanwhile."""
    from asgiref.sync import sync_to_async
    from django.contrib.sessions.models import Session

    request.session["visits"] = 1
    rows = Session.objects.filter(session_key=request.session.session_key)
    await sync_to_async(rows.delete)()
    return HttpResponse("too late")


async def public(request: HttpRequest) -> HttpResponse:
    return HttpResponse("public")


urlpatterns = [
    path("protected/", Protected.as_view()),
    path("editors/", Editors.as_view()),
    path("protected-late/", ProtectedNotPreloaded.as_view()),
    path("editors-late/", EditorsNotPreloaded.as_view()),
    path("remember/", remember),
    path("public/", public),
    path("logged-out-elsewhere/", logged_out_elsewhere),
]

MIDDLEWARE = [
    "async_auth_views.middleware.SessionMiddleware",
    "async_auth_views.middleware.AuthenticationMiddleware",
]
