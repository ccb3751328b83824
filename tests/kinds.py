"""The three kinds of view an access mixin serves, built from one set of mixins.

- ``async``: a plain Django ``View`` whose handlers are ``async def``;
- ``dispatch_base``: an ``AsyncView`` whose handler is a plain ``def``;
- ``sync``: a plain Django ``View`` with plain handlers (Django's own behaviour).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import AsyncRequestFactory
from django.views import View

from async_auth_views.views import AsyncView

KINDS = ("async", "dispatch_base", "sync")


async def _async_get(
    self: Any, request: Any, *args: Any, **kwargs: Any
) -> HttpResponse:
    return HttpResponse(f"served {request.user}")


def _sync_get(self: Any, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse(f"served {request.user}")


def view_class(kind: str, *mixins: type, **attrs: Any) -> type:
    """A view of ``kind`` protected by ``mixins``, with ``attrs`` as class attributes."""
    base, get = {
        "async": (View, _async_get),
        "dispatch_base": (AsyncView, _sync_get),
        "sync": (View, _sync_get),
    }[kind]
    return type(f"{kind.title()}View", (*mixins, base), {"get": get, **attrs})


def make_request(
    user: Any = None, path: str = "/rand", *, session: Any = None, **extra: Any
) -> Any:
    """A request as the middleware leaves it: a concrete user and an ``auser()``,
    and ``session`` when given."""
    request = AsyncRequestFactory().get(path, **extra)
    request.user = user if user is not None else AnonymousUser()
    if session is not None:
        request.session = session

    async def auser() -> Any:
        return request.user

    request.auser = auser
    return request


async def respond(view_cls: type, request: Any, **kwargs: Any) -> Any:
    """Call the view as Django's handler would: awaited, or in a thread when sync."""
    view = view_cls.as_view()
    if iscoroutinefunction(view):
        return await view(request, **kwargs)
    return await sync_to_async(view)(request, **kwargs)
