"""Who a session's user is: the session-level pair, the identity cache, the
changes that end its entries, and what each session engine can tell.

Internal to the package (not part of the documented API, except through
``async_auth_views.changes``); the design is in docs/internals.rst.
"""

from ._changes import (
    Listener,
    connect_receivers,
    connect_when_enabled,
    everyone_changed,
    session_ended,
    subscribe,
    user_changed,
)
from ._engines import limits, seconds_left
from ._entries import user_pk_string
from ._native_save import asave_session_native
from ._resolve import Resolution, aresolve_session, may_name_user, resolve_session

__all__ = [
    "Listener",
    "Resolution",
    "aresolve_session",
    "asave_session_native",
    "connect_receivers",
    "connect_when_enabled",
    "everyone_changed",
    "limits",
    "may_name_user",
    "resolve_session",
    "seconds_left",
    "session_ended",
    "subscribe",
    "user_changed",
    "user_pk_string",
]
