"""A test case with a channel layer, a logged-in user and the cookie of their session.

Users are made with ``create_user()``, of the active user model, named by its
``USERNAME_FIELD``: these tests also run on a project whose user model is not
Django's (another primary key type, another username field).
"""

from __future__ import annotations

from typing import Any, ClassVar

from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.test import Client, TransactionTestCase, override_settings

from .consumers import CONNECTED, app

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

Headers = list[tuple[bytes, bytes]]


def create_user(name: str, **fields: Any) -> Any:
    """A user of the active user model whose username is ``name`` and password
    ``"<name>-pass"``, made as ``createsuperuser`` makes one."""
    model = get_user_model()
    for field in model.REQUIRED_FIELDS:
        email = isinstance(model._meta.get_field(field), models.EmailField)
        fields.setdefault(field, f"{name}@example.com" if email else name)
    fields[model.USERNAME_FIELD] = name
    return model._default_manager.create_user(password=f"{name}-pass", **fields)


def cookie_of(client: Client) -> Headers:
    """The header a browser holding ``client``'s session cookie would send."""
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
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
        self.user = create_user("alice")
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
