"""Try every door of the library in the project ``DJANGO_SETTINGS_MODULE`` names.

Run as ``python -m tests.projects.doors``; prints one JSON object: for each
door, None when it was built and served, else what it raised. The doors are
read from the ``__all__`` of the modules that hold them, so a door added
later is tried too (and fails here until it is given its arguments below).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.views import View  # noqa: E402

#: Class attributes a door needs to be usable at all.
ATTRIBUTES: dict[str, dict[str, Any]] = {
    "PermissionRequiredMixin": {"permission_required": "auth.view_user"},
    "GroupRequiredMixin": {"group_required": "editors"},
    "UserPassesTestMixin": {"test_func": lambda self: True},
}
#: Arguments of each decorator; None for one used bare.
DECORATOR_ARGUMENTS: dict[str, tuple[Any, ...] | None] = {
    "anonymous_required": None,
    "group_required": ("editors",),
    "login_required": None,
    "permission_required": ("auth.view_user",),
    "recent_login_required": None,
    "staffuser_required": None,
    "superuser_required": None,
    "user_passes_test": (lambda user: True,),
}
#: Public names that are no door: bases, and Django's own re-exported marker.
NOT_DOORS = {"AccessMixin", "login_not_required"}

results: dict[str, str | None] = {}


def attempt(name: str, door: Callable[[], Any]) -> None:
    try:
        outcome = door()
        if inspect.isawaitable(outcome):
            asyncio.run(_awaited(outcome))
    except Exception as exc:
        results[name] = f"{type(exc).__name__}: {exc}"
    else:
        results[name] = None


async def _awaited(outcome: Any) -> Any:
    return await outcome


def request() -> Any:
    made = RequestFactory().get("/page/")
    made.user = AnonymousUser()
    made.session = SessionStore()
    return made


def response(request: Any) -> HttpResponse:
    return HttpResponse("served")


def public(module: Any) -> list[str]:
    return [name for name in module.__all__ if name not in NOT_DOORS]


def main() -> None:
    call_command("migrate", verbosity=0)

    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    attempt("get_asgi_application", get_asgi_application)
    attempt("get_wsgi_application", get_wsgi_application)

    from async_auth_views import changes, decorators, middleware, mixins, resolver

    for name in public(middleware):
        cls = getattr(middleware, name)
        attempt(name, lambda cls=cls: cls(response)(request()))
    for name in public(mixins):
        mixin = getattr(mixins, name)
        view = type(name + "View", (mixin, View), ATTRIBUTES.get(name, {}))
        view.get = lambda self, request: HttpResponse("served")  # type: ignore[attr-defined]
        attempt(name, lambda view=view: view.as_view()(request()))
    for name in public(decorators):
        decorator = getattr(decorators, name)
        arguments = DECORATOR_ARGUMENTS[name]
        wrap = decorator if arguments is None else decorator(*arguments)
        attempt(f"@{name}", lambda wrap=wrap: wrap(response)(request()))

    from async_auth_views import rest_framework

    api_request = SimpleNamespace(user=AnonymousUser(), method="GET")
    api_view = SimpleNamespace(queryset=get_user_model().objects.all())
    for name in public(rest_framework):
        permission = getattr(rest_framework, name)()
        attempt(
            f"{name}.has_permission",
            lambda permission=permission: permission.has_permission(
                api_request, api_view
            ),
        )

    from channels.generic.websocket import AsyncWebsocketConsumer

    from async_auth_views.channels import middleware as channels_middleware
    from async_auth_views.channels import mixins as channels_mixins

    for name in public(channels_middleware):
        door = getattr(channels_middleware, name)
        attempt(f"channels.{name}", lambda door=door: door(response))
    for name in public(channels_mixins):
        mixin = getattr(channels_mixins, name)
        consumer = type(
            name + "Consumer", (mixin, AsyncWebsocketConsumer), ATTRIBUTES.get(name, {})
        )
        attempt(f"channels.{name}", consumer.as_asgi)

    # The identity cache, at its first use: the resolver, and a change announced.
    attempt(
        "resolve_user",
        lambda: resolver.resolve_user(SessionStore("no-such-session-key-at-all")),
    )
    attempt("changes.user_changed", lambda: changes.user_changed(1))

    print(json.dumps(results))


if __name__ == "__main__":
    main()
