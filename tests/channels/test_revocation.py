"""An open socket never outlives its session: logout, password change, deactivation,
deletion and lost permissions close it within a second, and nothing after is served."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
from django.core import checks
from django.test import Client, override_settings

from async_auth_views.channels import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    AuthMiddlewareStack,
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
    revalidate_user,
    revoke_session,
)
from async_auth_views.channels.revocation import check_channel_layer

from .consumers import CONNECTED, ws_consumer
from .support import ChannelsTestCase, cookie_of

PERM = "auth.view_user"


class RevocationTests(ChannelsTestCase):
    async def open_accepted(
        self, consumer: type | None = None, headers: Any = None
    ) -> Any:
        communicator, (connected, _) = await self.open(
            consumer or ws_consumer(LoginRequiredMixin), headers
        )
        self.assertTrue(connected)
        await communicator.send_to(text_data="hi")
        self.assertEqual(await communicator.receive_from(), "alice: hi")
        return communicator

    async def assert_still_open(self, communicator: Any) -> None:
        await communicator.send_to(text_data="still")
        self.assertEqual(await communicator.receive_from(), "alice: still")
        await communicator.disconnect()

    async def test_sync_logout_closes(self) -> None:
        communicator = await self.open_accepted()
        response = await sync_to_async(self.client.post)("/logout/")
        self.assertEqual(response.status_code, 200)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_alogout_in_async_view_closes(self) -> None:
        communicator = await self.open_accepted()
        self.async_client.cookies = self.client.cookies
        response = await self.async_client.post("/alogout/")
        self.assertEqual(response.status_code, 200)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_logout_leaves_the_users_other_sessions_open(self) -> None:
        other = Client()
        await sync_to_async(other.force_login)(self.user)
        kept = await self.open_accepted(headers=cookie_of(other))
        closed = await self.open_accepted()
        await sync_to_async(self.client.post)("/logout/")
        await self.assert_closed(closed, CLOSE_UNAUTHENTICATED)
        await self.assert_still_open(kept)

    async def test_password_change_closes_every_session_of_the_user(self) -> None:
        other = Client()
        await sync_to_async(other.force_login)(self.user)
        elsewhere = await self.open_accepted(headers=cookie_of(other))
        here = await self.open_accepted()
        response = await sync_to_async(self.client.post)(
            "/password/", {"password": "new-pass"}
        )
        self.assertEqual(response.status_code, 200)
        # The session that changed it continues over HTTP under a new key;
        # the socket opened with the old key is closed like the others.
        await self.assert_closed(elsewhere, CLOSE_UNAUTHENTICATED)
        await self.assert_closed(here, CLOSE_UNAUTHENTICATED)

    async def test_deactivation_closes(self) -> None:
        communicator = await self.open_accepted()
        self.user.is_active = False
        await self.user.asave()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_deletion_closes(self) -> None:
        communicator = await self.open_accepted()
        await self.user.adelete()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_lost_permission_closes_with_forbidden(self) -> None:
        permission = await Permission.objects.aget(codename="view_user")
        await self.user.user_permissions.aadd(permission)
        communicator = await self.open_accepted(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM)
        )
        await self.user.user_permissions.aremove(permission)
        await self.user.asave()
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def test_failed_test_func_on_revalidation_closes_with_forbidden(self) -> None:
        def test_func(self: Any) -> bool:
            return User.objects.get(pk=self.scope["user"].pk).first_name != "banned"

        communicator = await self.open_accepted(
            ws_consumer(UserPassesTestMixin, test_func=test_func)
        )
        self.user.first_name = "banned"
        await self.user.asave()
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def test_save_that_keeps_access_keeps_the_socket(self) -> None:
        communicator = await self.open_accepted()
        self.user.first_name = "Alice"
        await self.user.asave()
        await asyncio.sleep(0.05)
        await self.assert_still_open(communicator)

    async def test_revalidate_user_after_queryset_update(self) -> None:
        communicator = await self.open_accepted()
        await User.objects.filter(pk=self.user.pk).aupdate(is_active=False)
        await sync_to_async(revalidate_user)(self.user)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_revoking_from_the_event_loop_thread(self) -> None:
        # A sync receiver called in the loop's own thread schedules the send.
        communicator = await self.open_accepted()
        revoke_session(self.client.session.session_key)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_logout_between_resolution_and_connect_is_not_missed(self) -> None:
        # The middleware resolved the user, then the session ends before the
        # consumer joins its groups: the logout reaches no group, yet the
        # socket is refused.
        client = self.client

        class LogoutAfterResolution:
            def __init__(self, inner: Any) -> None:
                self.inner = inner

            async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
                assert scope["user"].is_authenticated
                await sync_to_async(client.post)("/logout/")
                return await self.inner(scope, receive, send)

        consumer = ws_consumer(LoginRequiredMixin)
        application = AuthMiddlewareStack(LogoutAfterResolution(consumer.as_asgi()))
        communicator = WebsocketCommunicator(application, "/ws/", headers=self.cookie)
        self.assertEqual(await communicator.connect(), (False, CLOSE_UNAUTHENTICATED))
        self.assertEqual(CONNECTED, [])
        await communicator.wait()


class NoChannelLayerTests(ChannelsTestCase):
    channel_layers: ClassVar[dict[str, Any]] = {}

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=0)
    async def test_revalidates_on_received_messages(self) -> None:
        communicator, (connected, _) = await self.open(ws_consumer(LoginRequiredMixin))
        self.assertTrue(connected)
        await sync_to_async(self.client.post)("/logout/")
        await communicator.send_to(text_data="after logout")
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=60)
    async def test_revalidates_at_most_once_per_interval(self) -> None:
        communicator, (connected, _) = await self.open(ws_consumer(LoginRequiredMixin))
        self.assertTrue(connected)
        await sync_to_async(self.client.post)("/logout/")
        await communicator.send_to(text_data="soon after")
        self.assertEqual(await communicator.receive_from(), "alice: soon after")
        await communicator.disconnect()

    def test_system_check_warns(self) -> None:
        messages = check_channel_layer()
        self.assertEqual([m.id for m in messages], ["async_auth_views.W101"])
        self.assertIsInstance(messages[0], checks.Warning)
        self.assertIn("async_auth_views.W101", [m.id for m in checks.run_checks()])

    def test_system_check_is_quiet_with_a_layer(self) -> None:
        with self.settings(
            CHANNEL_LAYERS={
                "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
            }
        ):
            self.assertEqual(check_channel_layer(), [])
