"""``scope["user"]`` resolved before the consumer runs, by the HTTP middleware's resolver.

Channels' ``AuthMiddleware`` puts a lazy object in the scope and resolves it
with its own copy of ``get_user()``. This one awaits the library's resolver, so
a WebSocket and an HTTP request with the same cookie always name the same user
(same backends, session-hash check, inactive and deleted users) at the same
cost: no thread hop for a session with no key, one otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from channels.auth import AuthMiddleware as ChannelsAuthMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware

from ..conf import require_setup
from ..resolver import aresolve_user
from .revocation import integration_used

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope


def can_set_cookie(scope: Mapping[str, Any]) -> bool:
    """Whether a response in ``scope`` can carry a new session cookie (HTTP, not WebSocket)."""
    return scope.get("type") == "http"


class AuthMiddleware(ChannelsAuthMiddleware):
    """Drop-in replacement for ``channels.auth.AuthMiddleware``.

    ``scope["user"]`` is the concrete user (or ``AnonymousUser``), readable
    from sync and async code without a query.
    """

    def __init__(self, inner: Any) -> None:
        require_setup(self)
        integration_used()
        super().__init__(inner)

    def populate_scope(self, scope: _ChannelScope) -> None:
        if "session" not in scope:
            raise ValueError(
                f"{type(self).__name__} cannot find session in scope. "
                "SessionMiddleware must be above it: use "
                "async_auth_views.channels.AuthMiddlewareStack."
            )

    async def resolve_scope(self, scope: _ChannelScope) -> None:
        # The stubs type scope["user"] as Channels' lazy object; ours is concrete.
        scope["user"] = await aresolve_user(  # type: ignore[typeddict-item]
            scope["session"], can_set_cookie=can_set_cookie(scope)
        )


def AuthMiddlewareStack(inner: Any) -> Any:
    """Cookies, session and ``AuthMiddleware`` around ``inner``, as in Channels."""
    return CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))


__all__ = ["AuthMiddleware", "AuthMiddlewareStack"]
