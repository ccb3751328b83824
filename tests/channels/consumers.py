"""Consumers protected by the access mixins, built like tests.kinds builds views.

One of each base Channels offers: a raw ``AsyncConsumer`` that speaks ASGI
itself (for a socket and for a page), and the generic consumers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from channels.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from channels.testing.websocket import WebsocketCommunicator

from async_auth_views.channels import AuthMiddlewareStack

#: The consumers whose connect() ran, by class name.
CONNECTED: list[str] = []


class _Connect:
    async def connect(self) -> None:
        CONNECTED.append(type(self).__name__)
        await self.accept()


class _Echo(_Connect):
    async def receive(self, text_data: Any = None, bytes_data: Any = None) -> None:
        user = self.scope["user"]
        await self.send(text_data=f"{user.get_username()}: {text_data}")


class _JsonEcho(_Connect):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        user = self.scope["user"]
        await self.send_json(f"{user.get_username()}: {content}")


class _RawSocket:
    """A socket that speaks ASGI itself, calling no helper of Channels'."""

    async def websocket_connect(self, message: Any) -> None:
        CONNECTED.append(type(self).__name__)
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, message: Any) -> None:
        user = self.scope["user"]
        text = f"{user.get_username()}: {message.get('text')}"
        await self.send({"type": "websocket.send", "text": text})

    async def websocket_disconnect(self, message: Any) -> None:
        raise StopConsumer


class _Page:
    async def handle(self, body: bytes) -> None:
        user = self.scope["user"]
        await self.send_response(200, f"page for {user.get_username()}".encode())


class _RawPage:
    """A page that speaks ASGI itself, calling no helper of Channels'."""

    async def http_request(self, message: Any) -> None:
        user = self.scope["user"]
        body = f"page for {user.get_username()}".encode()
        await self.send({"type": "http.response.start", "status": 200, "headers": []})
        await self.send({"type": "http.response.body", "body": body})
        raise StopConsumer


def ws_consumer(*mixins: type, **attrs: Any) -> type:
    """An echoing ``AsyncWebsocketConsumer`` protected by ``mixins``."""
    return type("EchoConsumer", (*mixins, _Echo, AsyncWebsocketConsumer), attrs)


def json_consumer(*mixins: type, **attrs: Any) -> type:
    """An echoing ``AsyncJsonWebsocketConsumer`` protected by ``mixins``."""
    return type(
        "JsonEchoConsumer", (*mixins, _JsonEcho, AsyncJsonWebsocketConsumer), attrs
    )


def raw_ws_consumer(*mixins: type, **attrs: Any) -> type:
    """An echoing ``AsyncConsumer`` socket protected by ``mixins``, which sends
    its own ``websocket.accept``."""
    return type("RawEchoConsumer", (*mixins, _RawSocket, AsyncConsumer), attrs)


def http_consumer(*mixins: type, **attrs: Any) -> type:
    """An ``AsyncHttpConsumer`` page protected by ``mixins``."""
    return type("PageConsumer", (*mixins, _Page, AsyncHttpConsumer), attrs)


def raw_http_consumer(*mixins: type, **attrs: Any) -> type:
    """An ``AsyncConsumer`` page protected by ``mixins``, which sends its own
    ``http.response.start``."""
    return type("RawPageConsumer", (*mixins, _RawPage, AsyncConsumer), attrs)


#: Every base Channels offers for a socket: its consumer factory, by name.
SOCKETS: dict[str, Callable[..., type]] = {
    "AsyncConsumer": raw_ws_consumer,
    "AsyncWebsocketConsumer": ws_consumer,
    "AsyncJsonWebsocketConsumer": json_consumer,
}
#: Every base Channels offers for a page.
PAGES: dict[str, Callable[..., type]] = {
    "AsyncConsumer": raw_http_consumer,
    "AsyncHttpConsumer": http_consumer,
}


async def say(communicator: WebsocketCommunicator, consumer: type, text: str) -> Any:
    """Send ``text`` to an echoing ``consumer`` and return its answer."""
    if issubclass(consumer, AsyncJsonWebsocketConsumer):
        await communicator.send_json_to(text)
        return await communicator.receive_json_from()
    await communicator.send_to(text_data=text)
    return await communicator.receive_from()


def app(consumer: type, **initkwargs: Any) -> Any:
    """The consumer behind the cookie, session and auth middleware."""
    return AuthMiddlewareStack(consumer.as_asgi(**initkwargs))
