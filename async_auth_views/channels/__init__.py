"""Channels integration: the HTTP middleware's user resolution, consumer access
mixins, and sockets closed when their session ends.

Importing this package connects the revocation receivers; add
``"async_auth_views"`` to ``INSTALLED_APPS`` so that they are connected in every
process, including those that only serve HTTP.
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
