"""Requests through the library's middlewares in native mode: no thread hop, Django's answers."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session
from django.test import AsyncClient

from tests.measure import counting_hops

from .support import (
    native_sql,
    needs_async_engine,
    on_new_loop,
    pool_option,
    session_for,
)
from .views import MIDDLEWARE

pytestmark = [
    needs_async_engine,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.native.views"),
]


@pytest.fixture(autouse=True)
def _middleware(settings: Any) -> None:
    settings.MIDDLEWARE = MIDDLEWARE


def permitted_user(*codenames: str) -> User:
    user = User.objects.create_user("alice", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


async def get(path: str, key: str | None = None) -> tuple[Any, list[str]]:
    """The response to ``path`` with session ``key``, and the thread hops it took."""
    client = AsyncClient()
    if key is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = key
    with counting_hops() as hops:
        response = await client.get(path)
    return response, hops


def baseline_hops() -> list[str]:
    """The hops of a request with no session: Django's handler's own
    (request_started's sync receivers, response.close())."""
    response, hops = on_new_loop(get, "/public/")
    assert response.status_code == 200
    return hops


#: What the auth path sends to a thread when it is not native.
AUTH_PATH = {
    "_resolve",
    "resolve_user",
    "resolve_user_until",
    "process_response",
    "has_perms",
    "in_any_group",
}


def auth_hops(hops: list[str]) -> list[str]:
    return [hop for hop in hops if hop.rsplit(".", 1)[-1] in AUTH_PATH]


@pytest.mark.parametrize("pool", [None, True], ids=["connection per request", "pool"])
def test_a_protected_view_costs_no_thread_hop(pool: Any) -> None:
    key = session_for(permitted_user("add_user", "change_user"))
    with pool_option(pool), native_sql() as statements:
        response, hops = on_new_loop(get, "/protected/", key)
    assert response.status_code == 200
    assert response.content == b"hello alice"
    assert sorted(hops) == sorted(baseline_hops())
    assert auth_hops(hops) == []
    assert len(statements) == 3  # the session, the user, the permissions


def test_a_refused_permission_is_refused_natively() -> None:
    key = session_for(permitted_user("add_user"))
    response, hops = on_new_loop(get, "/protected/", key)
    assert response.status_code == 403
    # Django's handler sends the PermissionDenied through hops of its own.
    assert auth_hops(hops) == []


def test_a_group_check_costs_no_thread_hop() -> None:
    user = permitted_user()
    user.groups.add(Group.objects.create(name="editors"))
    key = session_for(user)
    with native_sql() as statements:
        response, hops = on_new_loop(get, "/editors/", key)
    assert response.status_code == 200
    assert sorted(hops) == sorted(baseline_hops())
    # The session, the user, its permissions (an async view that may render
    # {{ perms }} loads them, see templates.py), the group names.
    assert len(statements) == 4


@pytest.mark.parametrize(
    ("path", "count"),
    # The session, the user, the permissions; the group names for the group
    # check (the permissions are loaded for {{ perms }} there, templates.py).
    [("/protected-late/", 3), ("/editors-late/", 4)],
)
def test_a_check_that_loads_for_itself_costs_no_thread_hop(
    path: str, count: int
) -> None:
    """Without preloading, the check loads the permissions or the group names."""
    user = permitted_user("add_user", "change_user")
    user.groups.add(Group.objects.create(name="editors"))
    key = session_for(user)
    with native_sql() as statements:
        response, hops = on_new_loop(get, path, key)
    assert response.status_code == 200
    assert sorted(hops) == sorted(baseline_hops())
    assert len(statements) == count


def test_a_modified_session_is_saved_with_no_thread_hop() -> None:
    key = session_for(permitted_user())
    with native_sql() as statements:
        response, hops = on_new_loop(get, "/remember/", key)
    assert response.status_code == 200
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == key
    assert sorted(hops) == sorted(baseline_hops())
    assert statements[-1].startswith('UPDATE "django_session"')
    assert Session.objects.get(session_key=key).get_decoded()["visits"] == 1


def test_a_session_deleted_during_the_request_is_djangos_400() -> None:
    """Django raises SessionInterrupted (400) when the row is gone at save time."""
    key = session_for(permitted_user())
    response, hops = on_new_loop(get, "/logged-out-elsewhere/", key)
    assert response.status_code == 400
    assert auth_hops(hops) == []


def test_no_runtime_warning_from_the_engine_with_a_pool() -> None:
    """django-async-backend warns whenever its sync wrapper connects with a pool."""
    key = session_for(permitted_user("add_user", "change_user"))
    with pool_option(True), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response, _ = on_new_loop(get, "/protected/", key)
    assert response.status_code == 200
    assert [
        str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
    ] == []
