"""Every ``ASYNC_AUTH_*`` setting: its name, default, validation and check, in one place.

Every module reads its settings through the functions below, when it uses
them (so that tests can override them); ``checks.check_settings()`` reports
each invalid one under its own ID, and each door validates them all when it
is built (``require_setup()``), so a wrong value stops the server at startup.
Whether the app is installed is asked here too: every door refuses to run
without it (``require_app()``).
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache


@dataclass(frozen=True)
class Setting:
    """One setting: its value when unset, and the check that reports a wrong one."""

    name: str
    default: Any
    check_id: str
    #: Returns the value to use, or raises ``ImproperlyConfigured`` naming the setting.
    validate: Callable[[Any], Any]


def _regular_expressions(patterns: Any) -> list[re.Pattern[str]]:
    name = LAZY_PATHS.name
    if not isinstance(patterns, (list, tuple)):
        raise ImproperlyConfigured(
            f"{name} must be a list of regular expressions, not "
            f"{type(patterns).__name__} {patterns!r}."
        )
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ImproperlyConfigured(
                f"{name} contains {pattern!r}: each item must be a regular "
                "expression given as a str."
            )
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ImproperlyConfigured(
                f"{name} contains {pattern!r}, which is not a valid regular "
                f"expression: {exc}"
            ) from exc
    return compiled


def _cache_alias(alias: Any) -> str | None:
    name = IDENTITY_CACHE.name
    if alias is None:
        return None
    if not isinstance(alias, str):
        raise ImproperlyConfigured(
            f"{name} must be the alias of a cache in CACHES (a str) or None, not "
            f"{alias!r}."
        )
    if alias not in settings.CACHES:
        raise ImproperlyConfigured(
            f"{name} is {alias!r}, which is not an alias in CACHES (which has "
            f"{', '.join(map(repr, settings.CACHES))})."
        )
    return alias


def _whole_seconds(timeout: Any) -> int:
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ImproperlyConfigured(
            f"{IDENTITY_CACHE_TIMEOUT.name} must be a whole number of seconds, at "
            f"least 1, not {timeout!r}."
        )
    return timeout


def _seconds_or_none(interval: Any) -> float | None:
    if interval is None:
        return None
    if (
        isinstance(interval, bool)
        or not isinstance(interval, (int, float))
        or not interval >= 0
    ):
        raise ImproperlyConfigured(
            f"{REVALIDATE_INTERVAL.name} must be a number of seconds, at least 0, "
            f"not {interval!r}."
        )
    return float(interval)


#: Paths whose requests get a lazy ``request.user`` (see :doc:`middleware`).
LAZY_PATHS = Setting(
    "ASYNC_AUTH_LAZY_PATHS", (), "async_auth_views.E004", _regular_expressions
)
#: The alias in ``CACHES`` of the identity cache; None turns it off.
IDENTITY_CACHE = Setting(
    "ASYNC_AUTH_IDENTITY_CACHE", None, "async_auth_views.E005", _cache_alias
)
#: The longest an identity-cache entry lives, in seconds.
IDENTITY_CACHE_TIMEOUT = Setting(
    "ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT", 300, "async_auth_views.E006", _whole_seconds
)
#: How often a protected socket re-checks its session; None: by channel layer.
REVALIDATE_INTERVAL = Setting(
    "ASYNC_AUTH_REVALIDATE_INTERVAL", None, "async_auth_views.E101", _seconds_or_none
)

SETTINGS = (LAZY_PATHS, IDENTITY_CACHE, IDENTITY_CACHE_TIMEOUT, REVALIDATE_INTERVAL)
PREFIX = "ASYNC_AUTH_"


def raw(setting: Setting) -> Any:
    """The value as the project wrote it (its default when unset), not validated."""
    return getattr(settings, setting.name, setting.default)


def read(setting: Setting) -> Any:
    """The value to use; ``ImproperlyConfigured`` naming the setting when it is wrong."""
    return setting.validate(raw(setting))


def lazy_paths() -> list[re.Pattern[str]]:
    """``ASYNC_AUTH_LAZY_PATHS``, compiled: matched with ``re.match`` against
    ``request.path_info``, their requests get a lazy ``request.user``."""
    paths: list[re.Pattern[str]] = read(LAZY_PATHS)
    return paths


def identity_cache() -> BaseCache | None:
    """The cache ``ASYNC_AUTH_IDENTITY_CACHE`` names, or None when it is unset.

    Using it needs the app: its receivers are what end entries.
    """
    alias: str | None = read(IDENTITY_CACHE)
    if alias is None:
        return None
    require_app(IDENTITY_CACHE.name)
    return caches[alias]


def identity_cache_timeout() -> int:
    """``ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT``: the longest an entry lives, in seconds."""
    timeout: int = read(IDENTITY_CACHE_TIMEOUT)
    return timeout


def revalidate_interval() -> float | None:
    """``ASYNC_AUTH_REVALIDATE_INTERVAL``; None when unset (the default then
    depends on the channel layer: see ``channels.revocation.revalidate_interval()``)."""
    interval: float | None = read(REVALIDATE_INTERVAL)
    return interval


def validate() -> None:
    """Raise ``ImproperlyConfigured`` for the first wrong setting; see ``SETTINGS``."""
    for setting in SETTINGS:
        read(setting)


def unknown() -> list[tuple[str, str | None]]:
    """Each ``ASYNC_AUTH_*`` name set that is no setting, with the one it may mean."""
    known = [setting.name for setting in SETTINGS]
    found = []
    for name in sorted(dir(settings)):
        if name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            found.append((name, close[0] if close else None))
    return found


# The app ------------------------------------------------------------------------

#: Set by ``AsyncAuthViewsConfig.ready()``: the receivers are connected and
#: the checks registered in this process.
_app_ready = False


def app_ready() -> None:
    """Called by ``AsyncAuthViewsConfig.ready()`` once it connected everything."""
    global _app_ready
    _app_ready = True


def require_app(door: object) -> None:
    """Refuse to run ``door`` in a process where the app's ``ready()`` never ran.

    Without it no receiver ends a cached identity or closes a socket when a
    session or a user changes, and ``manage.py check`` checks nothing: the
    library would run without its guarantees, silently.
    """
    if not _app_ready:
        raise ImproperlyConfigured(
            f"{_name(door)} needs the app 'async_auth_views': its ready() connects "
            "the receivers that end cached identities and close sockets when a "
            "session or a user changes, and registers the system checks. Add "
            "'async_auth_views' to INSTALLED_APPS."
        )


def require_setup(door: object) -> None:
    """What a door checks when it is built: the app, and every setting."""
    require_app(door)
    validate()


def _name(door: object) -> str:
    """A door's dotted name: a class's, a function's, an instance's class's."""
    if isinstance(door, str):
        return door
    named: Any = (
        door if isinstance(door, type) or inspect.isroutine(door) else type(door)
    )
    return f"{named.__module__}.{named.__qualname__}"


__all__ = [
    "IDENTITY_CACHE",
    "IDENTITY_CACHE_TIMEOUT",
    "LAZY_PATHS",
    "REVALIDATE_INTERVAL",
    "SETTINGS",
    "Setting",
    "identity_cache",
    "identity_cache_timeout",
    "lazy_paths",
    "raw",
    "read",
    "require_app",
    "require_setup",
    "revalidate_interval",
    "unknown",
    "validate",
]
