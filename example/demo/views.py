"""The demo pages: async views whose templates read ``{{ user }}`` with no query.

``render()`` is called in the event loop here, so ``request.user`` must already
be the concrete user: a lazy one would query the database from async code and
raise ``SynchronousOnlyOperation``. The middleware resolves it before the view
runs, and the access mixins leave it concrete too.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.generic import ListView

from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from async_auth_views.permissions import ahas_perms
from async_auth_views.views import AsyncView, AsyncViewMixin

from .models import Book


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
