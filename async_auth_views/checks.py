"""System checks for a MIDDLEWARE setting that would break the library's guarantees."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import conf
from .permissions import unawaited_async_method
from .session_engines import limits

DJANGO_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
DJANGO_LOGIN_REQUIRED = "django.contrib.auth.middleware.LoginRequiredMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
OURS_SESSION = "async_auth_views.middleware.SessionMiddleware"
OURS_AUTH = "async_auth_views.middleware.AuthenticationMiddleware"
OURS_LOGIN_REQUIRED = "async_auth_views.middleware.LoginRequiredMiddleware"


def _index(class_path: str, middleware: list[str], *, exact: bool = False) -> int:
    """Index of ``class_path`` (or of a subclass, unless ``exact``) in ``middleware``."""
    cls = import_string(class_path)
    for index, path in enumerate(middleware):
        if path == class_path:
            return index
        if exact:
            continue
        try:
            candidate = import_string(path)
        except ImportError:
            continue
        if isinstance(candidate, type) and issubclass(candidate, cls):
            return index
    return -1


@checks.register(checks.Tags.security)
def check_middleware(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    ours = _index(OURS_AUTH, middleware)
    if ours == -1:
        return []
    errors: list[checks.CheckMessage] = []
    if _index(DJANGO_AUTH, middleware, exact=True) != -1:
        errors.append(
            checks.Error(
                f"MIDDLEWARE contains both '{DJANGO_AUTH}' and '{OURS_AUTH}'.",
                hint=f"Remove '{DJANGO_AUTH}': '{OURS_AUTH}' replaces it.",
                id="async_auth_views.E001",
            )
        )
    session = _index(SESSION, middleware)
    # Ours misplaced is E008 (check_session_middleware), with its own name.
    if session == -1 or (
        session > ours and session != _index(OURS_SESSION, middleware)
    ):
        errors.append(
            checks.Error(
                f"'{SESSION}' must be before '{OURS_AUTH}' in MIDDLEWARE.",
                hint="The authentication middleware reads the session it sets up.",
                id="async_auth_views.E002",
            )
        )
    login_required = _index(OURS_LOGIN_REQUIRED, middleware)
    if login_required != -1 and login_required < ours:
        errors.append(
            checks.Error(
                f"'{OURS_LOGIN_REQUIRED}' must be after '{OURS_AUTH}' in MIDDLEWARE.",
                id="async_auth_views.E003",
            )
        )
    if _index(DJANGO_LOGIN_REQUIRED, middleware, exact=True) != -1:
        errors.append(
            checks.Warning(
                f"'{DJANGO_LOGIN_REQUIRED}' checks the user in a thread on async "
                "requests.",
                hint=f"Use '{OURS_LOGIN_REQUIRED}', which does not.",
                id="async_auth_views.W001",
            )
        )
    return errors


@checks.register(checks.Tags.security)
def check_session_middleware(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    ours = _index(OURS_SESSION, middleware)
    if ours == -1:
        return []
    errors: list[checks.CheckMessage] = []
    if _index(SESSION, middleware, exact=True) != -1:
        errors.append(
            checks.Error(
                f"MIDDLEWARE contains both '{SESSION}' and '{OURS_SESSION}'.",
                hint=f"Remove '{SESSION}': '{OURS_SESSION}' replaces it.",
                id="async_auth_views.E007",
            )
        )
    auth = _index(OURS_AUTH, middleware)
    if auth != -1 and ours > auth:
        errors.append(
            checks.Error(
                f"'{OURS_SESSION}' must be before '{OURS_AUTH}' in MIDDLEWARE.",
                hint="The authentication middleware reads the session it sets up.",
                id="async_auth_views.E008",
            )
        )
    return errors


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Each ``ASYNC_AUTH_*`` setting with a wrong value, under its own ID."""
    errors: list[checks.CheckMessage] = []
    for setting in conf.SETTINGS:
        try:
            conf.read(setting)
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id=setting.check_id))
    return errors


@checks.register()
def check_unknown_settings(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn about an ``ASYNC_AUTH_*`` name that is no setting: a typo is ignored."""
    everything = ", ".join(setting.name for setting in conf.SETTINGS)
    return [
        checks.Warning(
            f"{name} is not a setting of async_auth_views: it is ignored.",
            hint=(
                f"Did you mean {meant}?"
                if meant
                else f"The settings of async_auth_views are {everything}."
            ),
            id="async_auth_views.W003",
        )
        for name, meant in conf.unknown()
    ]


@checks.register(checks.Tags.security)
def check_session_engine(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when the identity cache is used with a session engine that limits it."""
    if conf.raw(conf.IDENTITY_CACHE) is None:
        return []
    engine = getattr(settings, "SESSION_ENGINE", "")
    found = limits(engine)
    if not found:
        return []
    return [
        checks.Warning(
            f"ASYNC_AUTH_IDENTITY_CACHE is set and SESSION_ENGINE is '{engine}', "
            f"with which {'; and '.join(found)}: an identity-cache entry can then "
            "be served for up to ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT seconds after "
            "its session ended.",
            hint=(
                "Use the 'django.contrib.sessions.backends.db' or "
                "'django.contrib.sessions.backends.cached_db' engine, or shorten "
                "ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT to what you accept."
            ),
            id="async_auth_views.W002",
        )
    ]


@checks.register(checks.Tags.security)
def check_backends(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Refuse a backend whose sync permission method is ``async def``: it would grant all."""
    errors: list[checks.CheckMessage] = []
    for path in getattr(settings, "AUTHENTICATION_BACKENDS", None) or []:
        try:
            backend = import_string(path)()
        except Exception:
            continue  # Django reports a backend it cannot load.
        name = unawaited_async_method(backend)
        if name is not None:
            errors.append(
                checks.Error(
                    f"{path}.{name}() is async def: Django calls {name}() without "
                    "awaiting it, and its coroutine, which is true, grants every "
                    "permission.",
                    hint=f"Define {name}() with def, and a{name}() with async def.",
                    id="async_auth_views.E009",
                )
            )
    return errors
