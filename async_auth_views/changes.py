"""Tell the identity cache and the open sockets about a change that sends no signal.

Which of Django's signals means which change is decided in
``async_auth_views.identity`` (docs/internals.rst, "Changes").
"""

from .identity import everyone_changed, session_ended, user_changed

__all__ = ["everyone_changed", "session_ended", "user_changed"]
