"""When *this session* logged in: written at login, read by the recent-login rule.

A ``user_logged_in`` receiver, connected when this module is imported, writes
the time into the session (not ``user.last_login``, which belongs to the
user); see docs/internals.rst, "Changes".
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from django.contrib.auth.signals import user_logged_in

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

#: The session key that holds when the session logged in (``time.time()``).
LOGIN_TIME_SESSION_KEY = "_async_auth_login_time"


def record_login_time(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: note in the session when it logged in."""
    session = getattr(request, "session", None)
    if session is not None:
        session[LOGIN_TIME_SESSION_KEY] = time.time()


def connect_receiver() -> None:
    """Connect ``record_login_time()``; idempotent."""
    user_logged_in.connect(
        record_login_time, dispatch_uid=f"{__name__}.record_login_time"
    )


def login_time(session: SessionBase) -> float | None:
    """When ``session`` logged in, or None when it does not say (reads the store if unloaded)."""
    return _seconds(session.get(LOGIN_TIME_SESSION_KEY))


async def alogin_time(session: SessionBase) -> float | None:
    """See login_time(). One thread hop when the session is not loaded yet
    (an identity-cache hit does not load it); none otherwise."""
    return _seconds(await session.aget(LOGIN_TIME_SESSION_KEY))


def logged_in_within(logged_in_at: float | None, seconds: float) -> bool:
    """Whether a login at ``logged_in_at`` was at most ``seconds`` ago; never when unknown.

    A time slightly ahead of this server's clock (another server's) counts as now.
    """
    return logged_in_at is not None and time.time() - logged_in_at <= seconds


def _seconds(value: object) -> float | None:
    # Only what record_login_time() writes; anything else is no login time.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


connect_receiver()

__all__ = [
    "LOGIN_TIME_SESSION_KEY",
    "alogin_time",
    "connect_receiver",
    "logged_in_within",
    "login_time",
    "record_login_time",
]
