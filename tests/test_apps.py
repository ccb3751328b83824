"""Tests for ``async_auth_views.apps``: no guarantee depends on a registration the user can forget.

The app connects the receivers that end cached identities and open sockets,
and registers the system checks, in every process (``ready()``). A project
that leaves ``"async_auth_views"`` out of ``INSTALLED_APPS`` would get none of
it, silently; so every door refuses to run there, naming the fix. These
tests start real projects in processes of their own (``tests/projects/``).
"""

from __future__ import annotations

import subprocess
from typing import Any

import port_for
import pytest

from async_auth_views import decorators, middleware, mixins, rest_framework
from async_auth_views.channels import middleware as channels_middleware
from async_auth_views.channels import mixins as channels_mixins
from tests.projects.doors import NOT_DOORS
from tests.projects.run import doors, run

FIX = "Add 'async_auth_views' to INSTALLED_APPS"


def every_door() -> list[str]:
    """The name ``tests/projects/doors.py`` reports each door under."""
    names = ["get_asgi_application", "get_wsgi_application"]
    names += [n for n in middleware.__all__ if n not in NOT_DOORS]
    names += [n for n in mixins.__all__ if n not in NOT_DOORS]
    names += [f"@{n}" for n in decorators.__all__ if n not in NOT_DOORS]
    names += [
        f"{n}.has_permission" for n in rest_framework.__all__ if n not in NOT_DOORS
    ]
    names += [f"channels.{n}" for n in channels_middleware.__all__]
    names += [f"channels.{n}" for n in channels_mixins.__all__ if n not in NOT_DOORS]
    return [*names, "resolve_user", "changes.user_changed"]


@pytest.fixture(scope="module")
def without_app() -> dict[str, Any]:
    return doors("settings_no_app")


@pytest.fixture(scope="module")
def with_app() -> dict[str, Any]:
    return doors("settings_with_app")


@pytest.mark.parametrize("door", every_door())
def test_every_door_refuses_without_the_app(
    without_app: dict[str, Any], door: str
) -> None:
    """The identity cache, the middleware and Channels configured, the app left out."""
    refusal = without_app[door]
    assert refusal is not None, f"{door} ran without the app's receivers and checks"
    assert refusal.startswith("ImproperlyConfigured: "), refusal
    assert FIX in refusal, refusal


@pytest.mark.parametrize("door", every_door())
def test_every_door_runs_with_the_app(with_app: dict[str, Any], door: str) -> None:
    """The same project with the app installed: the refusals above are the app's."""
    assert with_app[door] is None, with_app[door]


def test_every_door_is_tried(without_app: dict[str, Any]) -> None:
    assert sorted(without_app) == sorted(every_door())


def test_a_server_refuses_to_start_without_the_app() -> None:
    """uvicorn exits at startup with the fix, instead of serving a project that
    would keep a logged-out session's cookie working."""
    port = port_for.select_random()
    command = ["-m", "uvicorn", "tests.projects.asgi:application", "--port", str(port)]
    try:
        done = run("settings_no_app", *command, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("uvicorn served a project without the app")
    assert done.returncode != 0
    assert FIX in done.stdout + done.stderr


def test_the_message_names_the_door_and_why() -> None:
    done = run(
        "settings_no_app",
        "-c",
        "import django; django.setup();"
        "from django.core.asgi import get_asgi_application; get_asgi_application()",
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "django.core.exceptions.ImproperlyConfigured: "
        "async_auth_views.middleware.AuthenticationMiddleware needs the app "
        "'async_auth_views': its ready() connects the receivers that end cached "
        "identities and close sockets when a session or a user changes, and "
        "registers the system checks. Add 'async_auth_views' to INSTALLED_APPS."
    ), done.stderr
