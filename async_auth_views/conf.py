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
    if isinstance(patterns, str):
        raise ImproperlyConfigured(
            "ASYNC_AUTH_LAZY_PATHS must be a list of regular expressions, not a string."
        )
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except (re.error, TypeError) as exc:
            raise ImproperlyConfigured(
                f"ASYNC_AUTH_LAZY_PATHS contains {pattern!r}, which is not a valid "
                f"regular expression: {exc}"
            ) from exc
    return compiled
