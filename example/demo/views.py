"""The demo pages: async views whose templates read ``{{ user }}`` with no query.

``render()`` is called in the event loop here, so ``request.user`` must already
be the concrete user: a lazy one would query the database from async code and
raise ``SynchronousOnlyOperation``. The middleware resolves it before the view
runs, and the access mixins leave it concrete too.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import alogout, get_user_model
from django.contrib.auth.views import LogoutView
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.generic import ListView, UpdateView
from guardian.shortcuts import get_objects_for_user

from async_auth_views.channels import revoke_user
from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from async_auth_views.permissions import ahas_perms
from async_auth_views.views import AsyncView, AsyncViewMixin

from .models import Book
from .sessions import delete_sessions_of


class Dashboard(LoginRequiredMixin, AsyncView):
    """The home page: who you are, and what you may see."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        context = {
            "book_count": await Book.objects.acount(),
            # One thread hop at most, every backend asked (see docs/mixins.rst).
            "can_read_secret": await ahas_perms(request.user, ["demo.read_secret"]),
        }
        return render(request, "demo/dashboard.html", context)


class SaysWhoMay(PermissionRequiredMixin):
    """The 403 page names the users who hold the permission, or says nobody does.

    ``handle_no_permission()`` runs in the event loop on async views: this one
    queries, so it is ``async def``. Its message is the 403 page's hint.
    """

    async def handle_no_permission(self) -> HttpResponseBase:
        if not self.request.user.is_authenticated:
            return super().handle_no_permission()
        perms = self.get_permission_required()
        obj = await sync_to_async(self.get_permission_object)()
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        allowed = [user async for user in users if await ahas_perms(user, perms, obj)]
        needed = " and ".join(perms) + (f" on {obj}" if obj is not None else "")
        if not allowed:
            raise PermissionDenied(f"No demo user holds {needed}.")
        names = " and ".join(user.get_username() for user in allowed)
        raise PermissionDenied(
            f"Log in as {names} to see it: only {names} "
            f"{'holds' if len(allowed) == 1 else 'hold'} {needed}."
        )


class Secret(LoginRequiredMixin, SaysWhoMay, AsyncView):
    """Anonymous users are sent to log in; users without the permission get 403."""

    permission_required = "demo.read_secret"

    async def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "demo/secret.html")


class BookList(LoginRequiredMixin, AsyncViewMixin, ListView):
    """Django's generic ``ListView``, made async: its sync get() runs in a thread."""

    model = Book

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        editable = get_objects_for_user(self.request.user, "demo.change_book", Book)
        return super().get_context_data(
            editable=set(editable.values_list("pk", flat=True)), **kwargs
        )


class BookEdit(LoginRequiredMixin, SaysWhoMay, AsyncViewMixin, UpdateView):
    """An object permission: django-guardian grants ``demo.change_book`` per book.

    The sync ``get_permission_object()`` and the permission check run together
    in one thread hop; users who may not edit this book get the 403 page.
    """

    model = Book
    fields = ("title", "author")
    permission_required = "demo.change_book"
    success_url = reverse_lazy("books")

    def get_permission_object(self) -> Book:
        return self.get_object()


class LogoutEverywhere(LoginRequiredMixin, AsyncView):
    """End all of the user's sessions, on every device, and close their sockets.

    GET shows the button. A visitor whose session has already ended is sent
    to log in with no ``next``: coming back here would end the new session.
    """

    redirect_field_name = None

    async def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "demo/logout_everywhere.html")

    async def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        await sync_to_async(delete_sessions_of)(user)
        # Deleting a session row sends no signal: close the user's sockets here.
        revoke_user(user)
        await alogout(request)
        return HttpResponseRedirect(settings.LOGOUT_REDIRECT_URL)


class Logout(LogoutView):
    """Django's ``LogoutView``, which answers GET with its button, not a 405."""

    http_method_names = ("get", "post", "options")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "registration/logout.html")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form opened before the user logged in or out elsewhere in this browser
    (which rotates the CSRF token): say so, instead of Django's debug page."""
    return render(request, "403_csrf.html", status=403)
