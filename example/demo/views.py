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
from django.contrib.auth import alogout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
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


class Secret(LoginRequiredMixin, PermissionRequiredMixin, AsyncView):
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


class BookEdit(LoginRequiredMixin, PermissionRequiredMixin, AsyncViewMixin, UpdateView):
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
    """End all of the user's sessions, on every device, and close their sockets."""

    http_method_names = ("post",)

    async def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        await sync_to_async(delete_sessions_of)(user)
        # Deleting a session row sends no signal: close the user's sockets here.
        revoke_user(user)
        await alogout(request)
        return HttpResponseRedirect(settings.LOGOUT_REDIRECT_URL)
