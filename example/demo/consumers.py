"""The dashboard's live panel: a WebSocket that knows who is on the other end.

``LoginRequiredMixin`` refuses anonymous handshakes before they are accepted,
and the library closes the socket (code 4401) as soon as its session ends:
logging out in another tab, or changing the password.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from async_auth_views.channels import LoginRequiredMixin


class LivePanel(LoginRequiredMixin, AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Greets the connected user, and echoes what the page sends, named by user."""

    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"user": self.scope["user"].get_username()})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(
            {"user": self.scope["user"].get_username(), "echo": content}
        )
