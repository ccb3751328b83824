"""Channels integration: the HTTP middleware's user resolution, consumer access
mixins, and sockets closed when their session ends.

The revocation receivers are connected by the app, in every process,
including those that only serve HTTP: without ``"async_auth_views"`` in
``INSTALLED_APPS``, ``AuthMiddleware`` and the consumer mixins refuse to be built.
"""

from ..extras import require_extra

require_extra("channels", "channels", __name__)

from .middleware import AuthMiddleware, AuthMiddlewareStack  # noqa: E402
from .mixins import (  # noqa: E402
    AccessMixin,
    GroupRequiredMixin,
    LoginRequiredMixin,
    PermissionRequiredMixin,
    StaffuserRequiredMixin,
    SuperuserRequiredMixin,
    UserPassesTestMixin,
)
from .revocation import (  # noqa: E402
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    revalidate_user,
    revoke_session,
    revoke_user,
)

__all__ = [
    "CLOSE_FORBIDDEN",
    "CLOSE_UNAUTHENTICATED",
    "AccessMixin",
    "AuthMiddleware",
    "AuthMiddlewareStack",
    "GroupRequiredMixin",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "StaffuserRequiredMixin",
    "SuperuserRequiredMixin",
    "UserPassesTestMixin",
    "revalidate_user",
    "revoke_session",
    "revoke_user",
]
