"""One tiny view per variant: "logged in + two model permissions", or nothing."""

from __future__ import annotations

from django.contrib.auth import mixins as django_mixins
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.views import View
from django_async_extensions.contrib.auth import mixins as extensions_mixins
from django_async_extensions.views.generic import AsyncView as ExtensionsAsyncView

from async_auth_views import mixins as our_mixins
from async_auth_views.views import AsyncView

PERMISSIONS = ("auth.view_group", "auth.change_group")


async def ceiling(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


class Ours(
    our_mixins.LoginRequiredMixin, our_mixins.PermissionRequiredMixin, AsyncView
):
    permission_required = PERMISSIONS

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")


class DjangoSyncMixins(
    django_mixins.LoginRequiredMixin, django_mixins.PermissionRequiredMixin, View
):
    permission_required = PERMISSIONS

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")


@login_required
@permission_required(PERMISSIONS)
async def django_async_decorators(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


class AsyncExtensions(
    extensions_mixins.AsyncLoginRequiredMixin,
    extensions_mixins.AsyncPermissionRequiredMixin,
    ExtensionsAsyncView,
):
    permission_required = PERMISSIONS

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")
