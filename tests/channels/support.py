"""A test case with a channel layer, a logged-in user and the cookie of their session."""

from __future__ import annotations

from typing import Any, ClassVar

from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client, TransactionTestCase, override_settings

from tests.project import User

from .consumers import CONNECTED, app

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

Headers = list[tuple[bytes, bytes]]


def cookie_of(client: Client) -> Headers:
    """The header a browser holding ``client``'s session cookie would send."""
    key = client.session.session_key
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode())]


class ChannelsTestCase(TransactionTestCase):
    """Consumers run in the test's event loop; their thread-sensitive database
    calls come back to the test thread, so rows must be committed: no TestCase."""

    channel_layers: ClassVar[dict[str, Any]] = IN_MEMORY

    def setUp(self) -> None:
        # Per test, so that each test's loop gets a fresh InMemoryChannelLayer.
        overrides = override_settings(
            CHANNEL_LAYERS=self.channel_layers, ROOT_URLCONF="tests.channels.urls"
        )
        overrides.enable()
        self.addCleanup(overrides.disable)
        CONNECTED.clear()
        self.user = User.objects.create_user("alice", password="alice-pass")
        self.client.force_login(self.user)
        self.cookie = cookie_of(self.client)

    async def open(
        self, consumer: type, headers: Headers | None = None, path: str = "/ws/"
    ) -> tuple[WebsocketCommunicator, tuple[bool, Any]]:
        """Connect to ``consumer`` with ``headers`` (the user's cookie by default)."""
        communicator = WebsocketCommunicator(
            app(consumer), path, headers=self.cookie if headers is None else headers
        )
        return communicator, await communicator.connect()

    async def assert_closed(
        self, communicator: WebsocketCommunicator, code: int, within: float = 1.0
    ) -> None:
        """The server closes the socket with ``code`` within ``within`` seconds,
        and serves nothing received afterwards."""
        message = await communicator.receive_output(timeout=within)
        self.assertEqual(message["type"], "websocket.close", message)
        self.assertEqual(message.get("code"), code)
        await communicator.send_to(text_data="after revocation")
        self.assertTrue(await communicator.receive_nothing(timeout=0.1))
        await communicator.disconnect(code=code)
