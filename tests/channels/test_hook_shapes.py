"""Every hook the consumer mixins call, in every shape: the "consumer" column of
the hook-shape table in docs/security.rst (``test_consumer_hook_shapes[<shape>]``).

WebSocket checks must accept the socket for a granting value and close it with
4403 for a refusing one; the HTTP answer's hooks must shape the 302 or 403.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing.http import HttpCommunicator
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.test import Client

from async_auth_views.channels import (
    CLOSE_FORBIDDEN,
    GroupRequiredMixin,
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
)
from tests.project import User, user_perm, user_permission
from tests.shapes import RUNS, SHAPES
from tests.test_hook_shapes import OBJECT_BACKENDS

from .consumers import app, http_consumer, ws_consumer
from .support import IN_MEMORY, cookie_of

pytestmark = pytest.mark.django_db(transaction=True)

ACCEPTED = "accepted"

# (hook, mixin, attributes, [(value, what the user gets)], anonymous)
WS_HOOKS: list[tuple[str, type, dict[str, Any], list[tuple[Any, Any]]]] = [
    (
        "test_func",
        UserPassesTestMixin,
        {},
        [(True, ACCEPTED), (False, CLOSE_FORBIDDEN)],
    ),
    (
        "get_test_func",
        UserPassesTestMixin,
        {},
        [(lambda: True, ACCEPTED), (lambda: False, CLOSE_FORBIDDEN)],
    ),
    (
        "has_permission",
        PermissionRequiredMixin,
        {},
        [(True, ACCEPTED), (False, CLOSE_FORBIDDEN)],
    ),
    (
        "get_permission_object",
        PermissionRequiredMixin,
        {"permission_required": "tests.change_article"},
        [("granted-object", ACCEPTED), ("other-object", CLOSE_FORBIDDEN)],
    ),
    (
        "get_permission_required",
        PermissionRequiredMixin,
        {},
        [([user_perm("add")], ACCEPTED), ([user_perm("delete")], CLOSE_FORBIDDEN)],
    ),
    (
        "get_group_required",
        GroupRequiredMixin,
        {},
        [(["editors"], ACCEPTED), ("admins", CLOSE_FORBIDDEN)],
    ),
    (
        # A hook that answers nothing: the socket is still refused, never accepted.
        "handle_no_permission",
        UserPassesTestMixin,
        {"test_func": lambda self: False},
        [(None, "refused")],
    ),
]
# The server refuses a socket whose consumer ended unanswered; no need to wait long.
_SILENT = {"handle_no_permission": 0.2}

HTTP_HOOKS: list[tuple[str, type, dict[str, Any], list[tuple[Any, Any]], bool]] = [
    (
        "get_permission_denied_message",
        UserPassesTestMixin,
        {"test_func": lambda self: False},
        [("custom message", (403, b"custom message"))],
        False,
    ),
    (
        "get_login_url",
        LoginRequiredMixin,
        {},
        [("/elsewhere/", (302, b"/elsewhere/?next=/page/"))],
        True,
    ),
    (
        "get_redirect_field_name",
        LoginRequiredMixin,
        {},
        [("goto", (302, b"/login/?goto=/page/"))],
        True,
    ),
]


@pytest.fixture
def cookie(settings: Any) -> list[tuple[bytes, bytes]]:
    settings.AUTHENTICATION_BACKENDS = OBJECT_BACKENDS
    settings.CHANNEL_LAYERS = dict(IN_MEMORY)
    settings.ROOT_URLCONF = "tests.channels.urls"
    alice = User.objects.create_user("alice")
    alice.user_permissions.add(user_permission("add"))
    alice.groups.add(Group.objects.create(name="editors"))
    client = Client()
    client.force_login(alice)
    return cookie_of(client)


async def _socket(consumer: type, cookie: Any, timeout: float = 1) -> Any:
    communicator = WebsocketCommunicator(app(consumer), "/ws/", headers=cookie)
    try:
        connected, code = await communicator.connect(timeout)
    # Not accepted: the consumer ended without a word (asyncio's error before 3.11).
    except (TimeoutError, asyncio.TimeoutError):
        return "refused"
    if connected:
        await communicator.disconnect()
        return ACCEPTED
    return code if code is not None else "refused"


async def _page(consumer: type, cookie: Any) -> Any:
    communicator = HttpCommunicator(
        app(consumer), "GET", "/page/", headers=[(b"host", b"testserver"), *cookie]
    )
    response = await communicator.get_response()
    if response["status"] == 302:
        return 302, dict(response["headers"])[b"Location"]
    return response["status"], response["body"]


@pytest.mark.parametrize("shape", SHAPES)
def test_consumer_hook_shapes(shape: str, cookie: Any) -> None:
    make = SHAPES[shape]

    async def cell() -> None:
        for name, mixin, attrs, cases in WS_HOOKS:
            for value, expected in cases:
                RUNS.clear()
                consumer = ws_consumer(mixin, **attrs, **{name: make(value)})
                assert (
                    name,
                    await _socket(consumer, cookie, _SILENT.get(name, 1)),
                ) == (
                    name,
                    expected,
                )
                assert shape in RUNS, f"{name} was not called"
        for name, mixin, attrs, cases, anonymous in HTTP_HOOKS:
            for value, expected in cases:
                RUNS.clear()
                consumer = http_consumer(mixin, **attrs, **{name: make(value)})
                seen = await _page(consumer, [] if anonymous else cookie)
                assert (name, seen) == (name, expected)
                assert shape in RUNS, f"{name} was not called"

    async_to_sync(cell)()
