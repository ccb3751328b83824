"""Every hook the view mixins call, in every shape, on every kind of view.

Each cell of the table in docs/security.rst ("Hook shapes") is one test here:
``test_view_hook_shapes[<kind>-<shape>]``. In a cell, every hook is given that
shape, returning a granting value and then a refusing one, and the answer must
be the one the *final* value calls for: a coroutine or awaitable is never
judged by its truth. Each shape queries the database, so a sync shape that ran
in the event loop of an async view would fail the test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from async_auth_views.mixins import (
    AnonymousRequiredMixin,
    GroupRequiredMixin,
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
)

from .kinds import KINDS, make_request, respond, view_class
from .shapes import RUNS, SHAPES

pytestmark = pytest.mark.django_db

OBJECT_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "tests.test_hook_shapes.ObjectBackend",
]


class ObjectBackend:
    """Grants ``tests.change_article`` on the object ``"granted-object"`` only."""

    calls: ClassVar[list[Any]] = []

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None

    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        return perm == "tests.change_article" and obj == "granted-object"


def _false_test() -> bool:
    return False


class Hook:
    """One hook: the mixin that calls it, the attributes around it, and the two
    values (granting, refusing) with the answer each calls for."""

    def __init__(
        self,
        name: str,
        mixin: type,
        granting: Any,
        granted: Any,
        refusing: Any,
        refused: Any,
        anonymous: bool = False,
        **attrs: Any,
    ) -> None:
        self.name, self.mixin, self.attrs = name, mixin, attrs
        self.cases = [(granting, granted), (refusing, refused)]
        self.anonymous = anonymous


HOOKS = [
    Hook("test_func", UserPassesTestMixin, True, 200, False, "denied:"),
    Hook(
        "get_test_func",
        UserPassesTestMixin,
        lambda: True,
        200,
        _false_test,
        "denied:",
    ),
    Hook("has_permission", PermissionRequiredMixin, True, 200, False, "denied:"),
    Hook(
        "get_permission_object",
        PermissionRequiredMixin,
        "granted-object",
        200,
        "other-object",
        "denied:",
        permission_required="tests.change_article",
    ),
    Hook(
        "get_permission_required",
        PermissionRequiredMixin,
        ["auth.add_user"],
        200,
        ["auth.delete_user"],
        "denied:",
    ),
    Hook(
        "get_group_required",
        GroupRequiredMixin,
        ["editors"],
        200,
        "admins",
        "denied:",
    ),
    Hook(
        "get_authenticated_redirect_url",
        AnonymousRequiredMixin,
        "/home/",
        "/home/",
        "/elsewhere/",
        "/elsewhere/",
    ),
    Hook(
        "handle_no_permission",
        UserPassesTestMixin,
        HttpResponse("custom", status=418),
        418,
        HttpResponse("custom", status=419),
        419,
        test_func=lambda self: False,
    ),
    Hook(
        "get_permission_denied_message",
        UserPassesTestMixin,
        "custom message",
        "denied:custom message",
        "another",
        "denied:another",
        test_func=lambda self: False,
    ),
    Hook(
        "get_login_url",
        LoginRequiredMixin,
        "/elsewhere/",
        "/elsewhere/?next=/rand",
        "/login/",
        "/login/?next=/rand",
        anonymous=True,
    ),
    Hook(
        "get_redirect_field_name",
        LoginRequiredMixin,
        "goto",
        "/login/?goto=/rand",
        "from",
        "/login/?from=/rand",
        anonymous=True,
    ),
]


async def outcome(view: type, user: Any) -> Any:
    """What the user sees: the status, the redirect's URL, or ``denied:<message>``."""
    try:
        response = await respond(view, make_request(user))
    except PermissionDenied as exc:
        return f"denied:{exc}"
    if response.status_code == 302:
        return response.url
    return response.status_code


@pytest.fixture
def alice(settings: Any) -> User:
    settings.AUTHENTICATION_BACKENDS = OBJECT_BACKENDS
    user = User.objects.create_user("alice")
    user.user_permissions.add(Permission.objects.get(codename="add_user"))
    user.groups.add(Group.objects.create(name="editors"))
    return user


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_view_hook_shapes(kind: str, shape: str, alice: User) -> None:
    make: Callable[[Any], Any] = SHAPES[shape]

    async def cell() -> None:
        for hook in HOOKS:
            for value, expected in hook.cases:
                RUNS.clear()
                view = view_class(
                    kind, hook.mixin, **hook.attrs, **{hook.name: make(value)}
                )
                user = (
                    AnonymousUser()
                    if hook.anonymous
                    else await User.objects.aget(pk=alice.pk)
                )
                seen = await outcome(view, user)
                assert (hook.name, seen) == (hook.name, expected)
                assert shape in RUNS, f"{hook.name} was not called"

    async_to_sync(cell)()
