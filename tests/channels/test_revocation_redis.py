"""Revocation that never lapses, on ``channels_redis`` with a real ``redis-server``.

A group membership expires after the layer's ``group_expiry``, and a message
to a channel at its ``capacity`` is dropped without an error: neither may let a
socket outlive its session.
"""

from __future__ import annotations

import asyncio
import shutil
from contextlib import ExitStack
from typing import Any, ClassVar

import pytest
from asgiref.sync import sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.test import override_settings

from async_auth_views.channels import CLOSE_UNAUTHENTICATED, LoginRequiredMixin
from devtools.servers import redis

from .support import ChannelsTestCase

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not on PATH"
)

#: The channel names of the sockets opened, in order.
CHANNELS: list[str] = []
#: Set to let a blocked ``receive()`` return.
RELEASE = asyncio.Event()


class BusyConsumer(LoginRequiredMixin, AsyncWebsocketConsumer):
    """Echoes; ``"block"`` keeps it busy until RELEASE, so its channel fills up."""

    async def connect(self) -> None:
        CHANNELS.append(self.channel_name)
        await self.accept()

    async def receive(self, text_data: Any = None, bytes_data: Any = None) -> None:
        if text_data == "block":
            await RELEASE.wait()
        await self.send(text_data=f"{self.scope['user'].get_username()}: {text_data}")

    async def test_noop(self, message: Any) -> None:
        """Handles the messages that fill the channel."""


class RedisTestCase(ChannelsTestCase):
    layer_config: ClassVar[dict[str, Any]] = {}

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        stack = ExitStack()
        url = stack.enter_context(redis()).url
        cls.addClassCleanup(stack.close)
        cls.channel_layers = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [url], **cls.layer_config},
            }
        }

    def setUp(self) -> None:
        super().setUp()
        CHANNELS.clear()
        global RELEASE
        RELEASE = asyncio.Event()  # one per test: an Event is bound to its loop

    async def open_accepted(self) -> Any:
        communicator, (connected, _) = await self.open(BusyConsumer)
        self.assertTrue(connected)
        await communicator.send_to(text_data="hi")
        self.assertEqual(await communicator.receive_from(), "alice: hi")
        return communicator


class RedisGroupExpiryTests(RedisTestCase):
    layer_config: ClassVar[dict[str, Any]] = {"group_expiry": 1}

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=60)
    async def test_logout_after_group_expiry_closes(self) -> None:
        communicator = await self.open_accepted()
        await asyncio.sleep(2.5)  # past group_expiry: Redis dropped the key
        await sync_to_async(self.client.post)("/logout/")
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED, within=0.5)


class FullChannelTests(RedisTestCase):
    """A revocation dropped because the socket's channel is full."""

    layer_config: ClassVar[dict[str, Any]] = {"capacity": 3}

    async def drop_a_logout(self) -> Any:
        """Open a socket, keep it busy, fill its channel, then log out: the
        logout's message is dropped. Returns the communicator."""
        communicator = await self.open_accepted()
        await communicator.send_to(text_data="block")
        layer = get_channel_layer()
        channel = CHANNELS[0]
        with self.assertRaises(ChannelFull):
            for _ in range(10):
                await layer.send(channel, {"type": "test.noop"})
        await sync_to_async(self.client.post)("/logout/")
        with self.assertRaises(ChannelFull):  # still full: the logout was dropped
            await layer.send(channel, {"type": "test.noop"})
        RELEASE.set()
        self.assertEqual(await communicator.receive_from(), "alice: block")
        return communicator

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=60)
    async def test_a_dropped_logout_is_lost_to_the_layer(self) -> None:
        # The control: without a re-check due, the socket stays open.
        communicator = await self.drop_a_logout()
        await communicator.send_to(text_data="after")
        self.assertEqual(await communicator.receive_from(), "alice: after")
        await communicator.disconnect()

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=1)
    async def test_a_dropped_logout_is_caught_by_the_periodic_recheck(self) -> None:
        communicator = await self.drop_a_logout()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED, within=2.0)
