"""Moved to ``async_auth_views.identity``; this path keeps working."""

from .identity._engines import (
    CACHE,
    CACHED_DB,
    DB,
    FILE,
    LIMITS,
    SIGNED_COOKIES,
    concrete,
    expires_at,
    limits,
    load_with_expiry,
    seconds_left,
)

__all__ = [
    "CACHE",
    "CACHED_DB",
    "DB",
    "FILE",
    "LIMITS",
    "SIGNED_COOKIES",
    "concrete",
    "expires_at",
    "limits",
    "load_with_expiry",
    "seconds_left",
]
