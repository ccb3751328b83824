"""Consumers protected by the access mixins, built like tests.kinds builds views."""

from __future__ import annotations

from typing import Any

from channels.generic.http import AsyncHttpConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from async_auth_views.channels import AuthMiddlewareStack

#: The consumers whose connect() ran, by class name.
CONNECTED: list[str] = []


class _Echo:
    async def connect(self) -> None:
        CONNECTED.append(type(self).__name__)
        await self.accept()

    async def receive(self, text_data: Any = None, bytes_data: Any = None) -> None:
        user = self.scope["user"]
        await self.send(text_data=f"{user.get_username()}: {text_data}")


class _Page:
    async def handle(self, body: bytes) -> None:
        user = self.scope["user"]
        await self.send_response(200, f"page for {user.get_username()}".encode())


def ws_consumer(*mixins: type, **attrs: Any) -> type:
    """An echoing ``AsyncWebsocketConsumer`` protected by ``mixins``."""
    return type("EchoConsumer", (*mixins, _Echo, AsyncWebsocketConsumer), attrs)


def http_consumer(*mixins: type, **attrs: Any) -> type:
    """An ``AsyncHttpConsumer`` page protected by ``mixins``."""
    return type("PageConsumer", (*mixins, _Page, AsyncHttpConsumer), attrs)


def app(consumer: type, **initkwargs: Any) -> Any:
    """The consumer behind the cookie, session and auth middleware."""
    return AuthMiddlewareStack(consumer.as_asgi(**initkwargs))
