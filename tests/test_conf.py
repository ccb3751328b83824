"""Tests for ``async_auth_views.conf``: every ``ASYNC_AUTH_*`` setting in one place.

Each setting is declared once, with its default, its validation and its
system check. A wrong value is an error at ``manage.py check`` and a clear
``ImproperlyConfigured`` where it is used, from the moment a door is built
(a server refuses to start), never a crash at some later request or message.
A misspelt name is warned about.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import override_settings

import async_auth_views
from async_auth_views import checks as our_checks
from async_auth_views import conf

PACKAGE = Path(async_auth_views.__file__).parent

#: (setting, value) pairs a project may write.
VALID: list[tuple[str, Any]] = [
    ("ASYNC_AUTH_LAZY_PATHS", []),
    ("ASYNC_AUTH_LAZY_PATHS", (r"^/healthz$",)),
    ("ASYNC_AUTH_LAZY_PATHS", [r"^/healthz$", r"^/static/"]),
    ("ASYNC_AUTH_IDENTITY_CACHE", None),
    ("ASYNC_AUTH_IDENTITY_CACHE", "default"),
    ("ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", 1),
    ("ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", 300),
    ("ASYNC_AUTH_REVALIDATE_INTERVAL", None),
    ("ASYNC_AUTH_REVALIDATE_INTERVAL", 0),
    ("ASYNC_AUTH_REVALIDATE_INTERVAL", 0.5),
    ("ASYNC_AUTH_REVALIDATE_INTERVAL", 60),
]

#: (setting, value, message) for values that must be refused.
INVALID: list[tuple[str, Any, str]] = [
    (
        "ASYNC_AUTH_LAZY_PATHS",
        r"^/healthz$",
        "ASYNC_AUTH_LAZY_PATHS must be a list of regular expressions, not str "
        "'^/healthz$'.",
    ),
    ("ASYNC_AUTH_LAZY_PATHS", None, ""),
    ("ASYNC_AUTH_LAZY_PATHS", [42], ""),
    ("ASYNC_AUTH_LAZY_PATHS", [rb"^/healthz$"], ""),
    ("ASYNC_AUTH_LAZY_PATHS", ["("], ""),
    (
        "ASYNC_AUTH_IDENTITY_CACHE",
        "sessions",
        "ASYNC_AUTH_IDENTITY_CACHE is 'sessions', which is not an alias in "
        "CACHES (which has 'default').",
    ),
    ("ASYNC_AUTH_IDENTITY_CACHE", 0, ""),
    ("ASYNC_AUTH_IDENTITY_CACHE", ["default"], ""),
    ("ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", "300", ""),
    ("ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", 0, ""),
    ("ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", 1.5, ""),
    ("ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", True, ""),
    ("ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", None, ""),
    (
        "ASYNC_AUTH_REVALIDATE_INTERVAL",
        "60",
        "ASYNC_AUTH_REVALIDATE_INTERVAL must be a number of seconds, at least 0, "
        "not '60'.",
    ),
    ("ASYNC_AUTH_REVALIDATE_INTERVAL", -1, ""),
    ("ASYNC_AUTH_REVALIDATE_INTERVAL", True, ""),
    ("ASYNC_AUTH_REVALIDATE_INTERVAL", float("nan"), ""),
    ("ASYNC_AUTH_REVALIDATE_INTERVAL", [60], ""),
]


def declared(name: str) -> Any:
    [setting] = [setting for setting in conf.SETTINGS if setting.name == name]
    return setting


def our_messages() -> list[checks.CheckMessage]:
    """What the registered checks report, through Django's check framework."""
    return [
        message
        for message in checks.run_checks()
        if message.id and message.id.startswith("async_auth_views.")
    ]


# One place ------------------------------------------------------------------


def test_no_module_but_conf_reads_a_setting() -> None:
    reads = re.compile(r"settings\s*,\s*[\"']ASYNC_AUTH_|settings\.ASYNC_AUTH_")
    readers = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "conf.py" and reads.search(path.read_text())
    ]
    assert readers == []


def test_every_setting_the_package_names_is_declared() -> None:
    named = set()
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r"ASYNC_AUTH_[A-Z_]*[A-Z]", path.read_text()))
    assert named - {setting.name for setting in conf.SETTINGS} == set()


def test_each_setting_has_its_own_check() -> None:
    ids = [setting.check_id for setting in conf.SETTINGS]
    assert len(set(ids)) == len(ids) == len(conf.SETTINGS)
    assert all(re.fullmatch(r"async_auth_views\.E\d{3}", id_) for id_ in ids)


# Values -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), VALID)
def test_a_valid_value_passes_the_check_and_is_used(name: str, value: Any) -> None:
    with override_settings(**{name: value}):
        conf.read(declared(name))
        assert our_checks.check_settings() == []
        assert our_messages() == []


@pytest.mark.parametrize(("name", "value", "message"), INVALID)
def test_an_invalid_value_is_an_error_at_check_time(
    name: str, value: Any, message: str
) -> None:
    setting = declared(name)
    with override_settings(**{name: value}):
        [error] = our_checks.check_settings()
        assert isinstance(error, checks.Error)
        assert error.id == setting.check_id
        assert error.msg.startswith(f"{name} ")
        if message:
            assert error.msg == message
        assert [m.id for m in our_messages()] == [setting.check_id]


@pytest.mark.parametrize(("name", "value", "message"), INVALID)
def test_an_invalid_value_is_improperly_configured_at_use(
    name: str, value: Any, message: str
) -> None:
    with (
        override_settings(**{name: value}),
        pytest.raises(ImproperlyConfigured, match=f"^{name} "),
    ):
        conf.read(declared(name))


def test_an_unset_setting_has_its_default() -> None:
    defaults = {setting.name: setting.default for setting in conf.SETTINGS}
    assert defaults == {
        "ASYNC_AUTH_LAZY_PATHS": (),
        "ASYNC_AUTH_IDENTITY_CACHE": None,
        "ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT": 300,
        "ASYNC_AUTH_REVALIDATE_INTERVAL": None,
    }
    assert conf.lazy_paths() == []
    assert conf.identity_cache() is None
    assert conf.identity_cache_timeout() == 300
    assert conf.revalidate_interval() is None


# Refused where it is used, from the start ------------------------------------


def http_stack() -> Any:
    from async_auth_views.middleware import AuthenticationMiddleware

    return AuthenticationMiddleware(lambda request: HttpResponse())


def channels_stack() -> Any:
    from async_auth_views.channels import AuthMiddlewareStack

    return AuthMiddlewareStack(lambda scope, receive, send: None)


def protected_consumer() -> Any:
    from async_auth_views.channels import LoginRequiredMixin

    class Consumer(LoginRequiredMixin, AsyncWebsocketConsumer):
        pass

    return Consumer.as_asgi()


FIRST_INVALID = {name: value for name, value, _ in reversed(INVALID)}


@pytest.mark.parametrize("door", [http_stack, channels_stack, protected_consumer])
@pytest.mark.parametrize("name", sorted(FIRST_INVALID))
def test_a_door_refuses_to_be_built_with_an_invalid_setting(
    door: Any, name: str
) -> None:
    """``ASYNC_AUTH_REVALIDATE_INTERVAL = "60"`` stops the server at startup,
    instead of crashing each consumer on its first message."""
    door()  # with valid settings
    with (
        override_settings(**{name: FIRST_INVALID[name]}),
        pytest.raises(ImproperlyConfigured, match=f"^{name} "),
    ):
        door()


def test_a_consumer_reads_the_interval_through_conf() -> None:
    from async_auth_views.channels.revocation import revalidate_interval

    assert revalidate_interval() == 5.0
    assert revalidate_interval(with_layer=True) == 60.0
    with override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=2):
        assert revalidate_interval(with_layer=True) == 2.0
    with (
        override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL="60"),
        pytest.raises(ImproperlyConfigured),
    ):
        revalidate_interval()


# Unknown names ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("ASYNC_AUTH_IDENTITY_CACHE_TIMOUT", "ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT"),
        ("ASYNC_AUTH_LAZY_PATH", "ASYNC_AUTH_LAZY_PATHS"),
        ("ASYNC_AUTH_REVALIDATION_INTERVAL", "ASYNC_AUTH_REVALIDATE_INTERVAL"),
        ("ASYNC_AUTH_IDENTITYCACHE", "ASYNC_AUTH_IDENTITY_CACHE"),
    ],
)
def test_a_misspelt_setting_is_warned_about(written: str, meant: str) -> None:
    with override_settings(**{written: 30}):
        [warning] = our_checks.check_unknown_settings()
        assert isinstance(warning, checks.Warning)
        assert warning.id == "async_auth_views.W003"
        assert warning.msg == (
            f"{written} is not a setting of async_auth_views: it is ignored."
        )
        assert warning.hint == f"Did you mean {meant}?"
        assert "async_auth_views.W003" in [m.id for m in our_messages()]


def test_an_unknown_setting_gets_the_list_of_settings() -> None:
    with override_settings(ASYNC_AUTH_SOMETHING_ELSE=True):
        [warning] = our_checks.check_unknown_settings()
        assert warning.hint == (
            "The settings of async_auth_views are ASYNC_AUTH_LAZY_PATHS, "
            "ASYNC_AUTH_IDENTITY_CACHE, ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT, "
            "ASYNC_AUTH_REVALIDATE_INTERVAL."
        )


def test_known_settings_are_not_warned_about() -> None:
    with override_settings(
        ASYNC_AUTH_LAZY_PATHS=[], ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT=300
    ):
        assert our_checks.check_unknown_settings() == []
