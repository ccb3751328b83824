"""Tell the identity cache and the open sockets about a change that sends no signal.

Which of Django's signals means which change is decided in ``async_auth_views.identity``.
"""

from .identity._changes import (
    Reactions,
    announce,
    connect_receivers,
    everyone_changed,
    react,
    session_ended,
    user_changed,
)

__all__ = [
    "Reactions",
    "announce",
    "connect_receivers",
    "everyone_changed",
    "react",
    "session_ended",
    "user_changed",
]
