"""Channels integration: the HTTP middleware's user resolution, consumer access
mixins, and sockets closed when their session ends.

Importing this package connects the revocation receivers; add
``"async_auth_views"`` to ``INSTALLED_APPS`` so that they are connected in every
process, including those that only serve HTTP.
"""

try:
    import channels  # noqa: F401
except ModuleNotFoundError as error:
    if error.name != "channels":
        raise
    raise ModuleNotFoundError(
        "async_auth_views.channels needs Channels, which is not installed: "
        'install the channels extra, pip install "async-auth-views[channels]".',
        name="channels",
    ) from error

from .middleware import AuthMiddleware, AuthMiddlewareStack
from .mixins import (
    AccessMixin,
    GroupRequiredMixin,
    LoginRequiredMixin,
    PermissionRequiredMixin,
    StaffuserRequiredMixin,
    SuperuserRequiredMixin,
    UserPassesTestMixin,
)
from .revocation import (
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
