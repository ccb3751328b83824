"""The library's settings, read when used so that tests can override them."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def lazy_paths() -> list[re.Pattern[str]]:
    """Path patterns whose requests get a lazy ``request.user`` instead of an eager one.

    Set ``ASYNC_AUTH_LAZY_PATHS`` to a list of regular expressions matched with
    ``re.match`` against ``request.path_info`` (health checks, static files).
    """
    patterns = getattr(settings, "ASYNC_AUTH_LAZY_PATHS", ())
    if not isinstance(patterns, (list, tuple)):
        raise ImproperlyConfigured(
            "ASYNC_AUTH_LAZY_PATHS must be a list of regular expressions, not "
            f"{type(patterns).__name__} {patterns!r}."
        )
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ImproperlyConfigured(
                f"ASYNC_AUTH_LAZY_PATHS contains {pattern!r}: each item must be a "
                "regular expression given as a str."
            )
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ImproperlyConfigured(
                f"ASYNC_AUTH_LAZY_PATHS contains {pattern!r}, which is not a valid "
                f"regular expression: {exc}"
            ) from exc
    return compiled
