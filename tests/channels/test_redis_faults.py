"""Sockets on a Redis that is full, slow, down or restarted: they still close.

The identity cache, and in the second half ``channels_redis`` too, are on a
real ``redis-server`` put in each state as production meets it (see
``tests.reliability.faults.FaultyRedis``). A socket re-checks its session
through the identity cache, so an entry a full or slow Redis kept would keep
the socket open: every change below must close it, and a handshake the layer
cannot serve is refused, never accepted unprotected.
"""

from __future__ import annotations

import asyncio
import shutil
from contextlib import AbstractContextManager
from typing import Any, ClassVar
from unittest import skipIf

from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission
from django.test import override_settings
from redis.exceptions import OutOfMemoryError

from async_auth_views.channels import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    LoginRequiredMixin,
    PermissionRequiredMixin,
)
from tests import test_changes as changes
from tests.project import user_perm, user_perm_lookup
from tests.reliability.faults import FaultyRedis

from .consumers import CONNECTED, ws_consumer
from .support import ChannelsTestCase

PERM = user_perm("view")
REDIS = "django.core.cache.backends.redis.RedisCache"
TIMEOUTS = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}


@skipIf(shutil.which("redis-server") is None, "redis-server is not installed")
class SocketOnFaultyRedisTestCase(ChannelsTestCase):
    """The identity cache on a FaultyRedis; the layer in memory."""

    redis: ClassVar[FaultyRedis]

    @classmethod
    def setUpClass(cls) -> None:
        cls.redis = FaultyRedis()
        cls.addClassCleanup(cls.redis.stop)
        super().setUpClass()

    def setUp(self) -> None:
        super().setUp()
        identity = {"BACKEND": REDIS, "LOCATION": self.redis.url, "OPTIONS": TIMEOUTS}
        overrides = override_settings(
            CACHES={**changes.CACHES, "identity": identity},
            ASYNC_AUTH_IDENTITY_CACHE="identity",
            ROOT_URLCONF=changes.__name__,  # whoami/ a sync view, and the others
        )
        overrides.enable()
        self.addCleanup(overrides.disable)
        self.redis.flush()

    @property
    def key(self) -> str:
        """The session key of alice's cookie."""
        return self.cookie[0][1].decode().split("=", 1)[1]

    async def fill(self) -> None:
        """Fill the session's entry over HTTP, as a page loaded before its socket
        does: the handshake is a hit."""
        for _ in range(2):
            await sync_to_async(changes.whoami)(self.key)

    async def open_accepted(self, consumer: type | None = None) -> Any:
        await self.fill()
        communicator, (connected, _) = await self.open(
            consumer or ws_consumer(LoginRequiredMixin)
        )
        self.assertTrue(connected)
        await communicator.send_to(text_data="hi")
        self.assertEqual(await communicator.receive_from(), "alice: hi")
        return communicator

    async def open_guarded(self) -> Any:
        permission = await Permission.objects.aget(**user_perm_lookup("view"))
        await self.user.user_permissions.aadd(permission)
        self.permission = permission
        return await self.open_accepted(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM)
        )

    async def in_thread(self, fault: AbstractContextManager[None]) -> Any:
        """Enter ``fault`` (it may block, as a pause does) from the event loop."""
        await sync_to_async(fault.__enter__, thread_sensitive=False)()
        return fault

    async def leave(self, fault: AbstractContextManager[None]) -> None:
        await sync_to_async(fault.__exit__, thread_sensitive=False)(None, None, None)


class IdentityCacheFaultTests(SocketOnFaultyRedisTestCase):
    """The identity cache fails; the layer works: the re-check a change asks for
    must read the database, not an entry the cache kept."""

    async def check_deactivation(self, fault: AbstractContextManager[None]) -> None:
        communicator = await self.open_accepted()
        entered = await self.in_thread(fault)
        try:
            self.user.is_active = False
            await self.user.asave()
            await self.assert_closed_without_echo(communicator, CLOSE_UNAUTHENTICATED)
        finally:
            await self.leave(entered)

    async def check_lost_permission(self, fault: AbstractContextManager[None]) -> None:
        communicator = await self.open_guarded()
        entered = await self.in_thread(fault)
        try:
            await self.user.user_permissions.aremove(self.permission)
            await self.assert_closed_without_echo(communicator, CLOSE_FORBIDDEN)
        finally:
            await self.leave(entered)

    async def test_a_handshake_on_a_full_redis_is_answered_from_the_database(
        self,
    ) -> None:
        # A miss (nothing can be stored): resolved from the database.
        with self.redis.full():
            communicator, (connected, _) = await self.open(
                ws_consumer(LoginRequiredMixin)
            )
            self.assertTrue(connected)
            await communicator.send_to(text_data="hi")
            self.assertEqual(await communicator.receive_from(), "alice: hi")
            self.user.is_active = False
            await self.user.asave()
            await self.assert_closed_without_echo(communicator, CLOSE_UNAUTHENTICATED)

    async def test_deactivation_on_a_full_redis_closes(self) -> None:
        await self.check_deactivation(self.redis.full())

    async def test_lost_permission_on_a_full_redis_closes(self) -> None:
        await self.check_lost_permission(self.redis.full())

    async def test_deactivation_during_a_failover_closes(self) -> None:
        await self.check_deactivation(self.redis.failover())

    async def test_lost_permission_during_a_failover_closes(self) -> None:
        await self.check_lost_permission(self.redis.failover())

    async def assert_closed_without_echo(self, communicator: Any, code: int) -> None:
        message = await communicator.receive_output(timeout=1.5)
        self.assertEqual(message["type"], "websocket.close", message)
        self.assertEqual(message.get("code"), code)
        await communicator.send_to(text_data="after revocation")
        self.assertTrue(await communicator.receive_nothing(timeout=0.1))
        await communicator.disconnect(code=code)


@override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=1)
class ChannelsRedisFaultTests(SocketOnFaultyRedisTestCase):
    """The layer (``channels_redis``) and the identity cache on one FaultyRedis.

    A message the layer could not carry is caught by the socket's own re-check
    (every second here; ``ASYNC_AUTH_REVALIDATE_INTERVAL``).
    """

    def setUp(self) -> None:
        self.channel_layers = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [self.redis.url]},
            }
        }
        super().setUp()

    async def test_a_handshake_on_a_full_redis_is_refused(self) -> None:
        # The socket cannot join its revocation groups: it could never be
        # revoked by a message, so it is not served (the error ends the
        # application: the server answers the handshake with a 500).
        await self.fill()
        with self.redis.full(), self.assertRaises(OutOfMemoryError):
            await self.open(ws_consumer(LoginRequiredMixin))
        self.assertEqual(CONNECTED, [])

    async def test_logout_on_a_full_redis_closes(self) -> None:
        communicator = await self.open_accepted()
        with self.redis.full():
            response = await sync_to_async(self.client.post)("/logout/")
            self.assertEqual(response.status_code, 200)
            answer = await sync_to_async(changes.whoami)(self.key)
            self.assertEqual(answer, (200, "None"))
            await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED, within=2.5)

    async def test_deactivation_on_a_full_redis_closes(self) -> None:
        communicator = await self.open_accepted()
        with self.redis.full():
            self.user.is_active = False
            await self.user.asave()
            await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED, within=2.5)

    async def test_logout_during_a_pause_closes(self) -> None:
        # The logout's message waits for Redis (channels_redis has no
        # timeout), then closes the socket.
        communicator = await self.open_accepted()
        self.redis.pause("ALL", seconds=1.0)
        response = await sync_to_async(self.client.post)("/logout/")
        self.assertEqual(response.status_code, 200)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED, within=2.5)
        answer = await sync_to_async(changes.whoami)(self.key)
        self.assertEqual(answer, (200, "None"))

    async def test_a_restart_loses_no_logout(self) -> None:
        # The groups were in Redis: a restart empties them. The socket's own
        # re-check still closes it.
        communicator = await self.open_accepted()
        await sync_to_async(self.redis.stop)()
        await sync_to_async(self.redis.start)()
        await sync_to_async(self.client.post)("/logout/")
        await self.assert_ended(communicator)

    async def test_a_socket_ends_when_redis_goes_down(self) -> None:
        communicator = await self.open_accepted()
        await sync_to_async(self.redis.stop)()
        try:
            await sync_to_async(self.client.post)("/logout/")
            await self.assert_ended(communicator)
        finally:
            await sync_to_async(self.redis.start)()

    async def assert_ended(self, communicator: Any) -> None:
        """The socket is closed (or its consumer ended), and serves nothing."""
        try:
            message = await communicator.receive_output(timeout=2.5)
        except asyncio.TimeoutError:
            self.fail("the socket is still open")
        except Exception:
            return  # the consumer ended with the layer's error: the server closes
        self.assertEqual(message["type"], "websocket.close", message)
        await communicator.send_to(text_data="after revocation")
        self.assertTrue(await communicator.receive_nothing(timeout=0.1))
        await communicator.disconnect()
