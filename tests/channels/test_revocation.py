"""An open socket never outlives its session: logout, password change, deactivation,
deletion and lost permissions close it within a second, and nothing after is served."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from importlib import import_module
from typing import Any, ClassVar
from unittest.mock import patch

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.models import Session
from django.core import checks
from django.test import Client, SimpleTestCase, override_settings
from django.utils import timezone

from async_auth_views import changes
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
from tests.kin.models import Employee, ProxyGroup, ProxyUser, Team
from tests.projects.run import check

from .consumers import (
    CONNECTED,
    SOCKETS,
    app,
    json_consumer,
    raw_ws_consumer,
    ws_consumer,
)
from .support import ChannelsTestCase, cookie_of

PERM = "auth.view_user"


class SocketTestCase(ChannelsTestCase):
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


class RevocationTests(SocketTestCase):
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
        AuthMiddlewareStack(ws_consumer(LoginRequiredMixin).as_asgi())  # in use
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


class ChannelLayerCheckTests(SimpleTestCase):
    """W101 (no channel layer) is for projects whose sockets we protect, as
    ``manage.py check`` reports it in a project of each kind."""

    def test_a_project_serving_http_only_is_not_warned(self) -> None:
        """Channels installed (another package needs it), neither set up nor used."""
        self.assertNotIn("W101", check("settings_http"))

    def test_a_channels_project_without_a_layer_is_warned(self) -> None:
        """``ASGI_APPLICATION`` names an application our mixins protect."""
        said = check("settings_channels")
        self.assertIn("?: (async_auth_views.W101) No channel layer is configured", said)

    def test_a_channels_project_with_a_layer_is_not_warned(self) -> None:
        self.assertNotIn("W101", check("settings_channels_layer"))

    @override_settings(ASGI_APPLICATION="tests.no.such.module.application")
    def test_an_application_that_cannot_be_imported_is_left_to_the_server(
        self,
    ) -> None:
        from async_auth_views.channels import revocation

        with patch.object(revocation, "_in_use", False):
            self.assertEqual(check_channel_layer(), [])


class KinRevocationTests(SocketTestCase):
    """Changes through proxies and multi-table children reach open sockets."""

    async def test_deactivation_through_a_proxy_closes(self) -> None:
        communicator = await self.open_accepted()
        alice = await ProxyUser.objects.aget(pk=self.user.pk)
        alice.is_active = False
        await alice.asave()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_password_change_through_a_proxy_closes(self) -> None:
        communicator = await self.open_accepted()
        alice = await ProxyUser.objects.aget(pk=self.user.pk)
        alice.set_password("new")
        await alice.asave()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_deletion_through_a_proxy_closes(self) -> None:
        communicator = await self.open_accepted()
        await (await ProxyUser.objects.aget(pk=self.user.pk)).adelete()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_deactivation_through_a_multi_table_child_closes(self) -> None:
        await sync_to_async(Employee(user_ptr=self.user).save_base)(raw=True)
        communicator = await self.open_accepted()
        employee = await Employee.objects.aget(pk=self.user.pk)
        employee.is_active = False
        await employee.asave()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_revalidate_user_with_a_proxy_instance(self) -> None:
        communicator = await self.open_accepted()
        await User.objects.filter(pk=self.user.pk).aupdate(is_active=False)
        alice = await ProxyUser.objects.aget(pk=self.user.pk)
        await sync_to_async(revalidate_user)(alice)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_revalidate_user_with_a_child_instance(self) -> None:
        await sync_to_async(Employee(user_ptr=self.user).save_base)(raw=True)
        communicator = await self.open_accepted()
        await User.objects.filter(pk=self.user.pk).aupdate(is_active=False)
        employee = await Employee.objects.aget(pk=self.user.pk)
        await sync_to_async(revalidate_user)(employee)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_staff_and_superuser_flags_cleared_through_a_proxy_close(
        self,
    ) -> None:
        from async_auth_views.channels import (
            StaffuserRequiredMixin,
            SuperuserRequiredMixin,
        )

        for mixin, flag in (
            (StaffuserRequiredMixin, "is_staff"),
            (SuperuserRequiredMixin, "is_superuser"),
        ):
            with self.subTest(flag=flag):
                await User.objects.filter(pk=self.user.pk).aupdate(**{flag: True})
                communicator = await self.open_accepted(ws_consumer(mixin))
                alice = await ProxyUser.objects.aget(pk=self.user.pk)
                setattr(alice, flag, False)
                await alice.asave()
                await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def open_with_permission(self) -> Any:
        permission = await Permission.objects.aget(codename="view_user")
        await self.user.user_permissions.aadd(permission)
        return permission, await self.open_accepted(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM)
        )

    async def test_permission_removed_without_a_save_closes(self) -> None:
        permission, communicator = await self.open_with_permission()
        proxy = await ProxyUser.objects.aget(pk=self.user.pk)
        await proxy.user_permissions.aremove(permission)
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def test_permission_removed_from_the_permission_side_closes(self) -> None:
        permission, communicator = await self.open_with_permission()
        await permission.user_set.aremove(self.user)
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def open_in_group(self) -> tuple[Team, Permission, Any]:
        permission = await Permission.objects.aget(codename="view_user")
        team = await Team.objects.acreate(name="readers")
        await team.permissions.aadd(permission)
        await self.user.groups.aadd(team)
        communicator = await self.open_accepted(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM)
        )
        return team, permission, communicator

    async def test_permission_removed_from_a_group_closes(self) -> None:
        team, permission, communicator = await self.open_in_group()
        await team.permissions.aremove(permission)
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def test_child_group_deleted_closes(self) -> None:
        team, _, communicator = await self.open_in_group()
        await team.adelete()
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def test_proxy_group_deleted_closes(self) -> None:
        team, _, communicator = await self.open_in_group()
        await (await ProxyGroup.objects.aget(pk=team.pk)).adelete()
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def test_removed_from_the_group_side_closes(self) -> None:
        team, _, communicator = await self.open_in_group()
        await team.user_set.aremove(self.user)
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)


class BulkChangeRevocationTests(SocketTestCase):
    """After a bulk change (no signal), ``changes.user_changed()`` or
    ``everyone_changed()`` closes the sockets it revoked, at once."""

    async def test_group_membership_deleted_in_bulk(self) -> None:
        from django.contrib.auth.models import Group

        from async_auth_views.channels import GroupRequiredMixin

        editors = await ProxyGroup.objects.acreate(name="editors")
        await self.user.groups.aadd(editors)
        communicator = await self.open_accepted(
            ws_consumer(GroupRequiredMixin, group_required="editors")
        )
        await User.groups.through.objects.filter(user_id=self.user.pk).adelete()
        self.assertTrue(await communicator.receive_nothing(timeout=0.3))  # not seen
        await sync_to_async(changes.user_changed)(self.user)
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)
        self.assertFalse(await Group.objects.filter(user=self.user).aexists())

    async def test_group_permission_deleted_in_bulk(self) -> None:
        from django.contrib.auth.models import Group

        permission = await Permission.objects.aget(codename="view_user")
        team = await Group.objects.acreate(name="readers")
        await team.permissions.aadd(permission)
        await self.user.groups.aadd(team)
        communicator = await self.open_accepted(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM)
        )
        await Group.permissions.through.objects.filter(group_id=team.pk).adelete()
        await sync_to_async(changes.everyone_changed)()
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def test_staff_flag_cleared_by_update(self) -> None:
        from async_auth_views.channels import StaffuserRequiredMixin

        await User.objects.filter(pk=self.user.pk).aupdate(is_staff=True)
        communicator = await self.open_accepted(ws_consumer(StaffuserRequiredMixin))
        await User.objects.filter(pk=self.user.pk).aupdate(is_staff=False)
        await sync_to_async(changes.user_changed)(self.user.pk)
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)


class SessionEndRevocationTests(SocketTestCase):
    """Sessions that end without ``logout()`` close their sockets."""

    async def test_session_row_deleted(self) -> None:
        communicator = await self.open_accepted()
        key = self.client.session.session_key
        await Session.objects.filter(session_key=key).adelete()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_login_as_another_user_in_the_same_browser(self) -> None:
        await sync_to_async(User.objects.create_user)("bob", password="bob-pass")
        communicator = await self.open_accepted()
        response = await sync_to_async(self.client.post)(
            "/login/", {"username": "bob", "password": "bob-pass"}
        )
        self.assertEqual(response.status_code, 200)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_alogin_as_another_user_in_the_same_browser(self) -> None:
        await sync_to_async(User.objects.create_user)("bob", password="bob-pass")
        communicator = await self.open_accepted()
        self.async_client.cookies = self.client.cookies
        response = await self.async_client.post(
            "/alogin/", {"username": "bob", "password": "bob-pass"}
        )
        self.assertEqual(response.status_code, 200)
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_flush(self) -> None:
        communicator = await self.open_accepted()
        await sync_to_async(self.client.post)("/flush/")
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    async def test_cycle_key(self) -> None:
        communicator = await self.open_accepted()
        await sync_to_async(self.client.post)("/cycle/")
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED)

    def set_expiry(self, value: Any) -> None:
        session = self.client.session
        session.set_expiry(value)
        session.save()

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=60)
    async def test_expiry_closes_at_the_expiry(self) -> None:
        expiry = timezone.now() + timedelta(seconds=1)
        await sync_to_async(self.set_expiry)(expiry)
        communicator = await self.open_accepted()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED, within=2.0)
        self.assertGreaterEqual(timezone.now(), expiry)

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=60)
    async def test_an_expiry_extended_meanwhile_keeps_the_socket(self) -> None:
        await sync_to_async(self.set_expiry)(timezone.now() + timedelta(seconds=1))
        communicator = await self.open_accepted()
        await sync_to_async(self.set_expiry)(None)
        await asyncio.sleep(1.3)
        await self.assert_still_open(communicator)


@override_settings(
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    ASYNC_AUTH_REVALIDATE_INTERVAL=0.3,
)
class EngineWithoutSignalsTests(ChannelsTestCase):
    """The ``cache`` engine sends no signal when a session is deleted: the
    socket's own re-check closes it within the interval."""

    async def test_session_deleted_from_the_cache(self) -> None:
        key = await sync_to_async(lambda: self.client.session.session_key)()
        # force_login saved the session in the engine of the time: log in again.
        await sync_to_async(self.client.force_login)(self.user)
        cookie = cookie_of(self.client)
        communicator, (connected, _) = await self.open(
            ws_consumer(LoginRequiredMixin), cookie
        )
        self.assertTrue(connected, key)
        store = import_module(settings.SESSION_ENGINE).SessionStore(
            self.client.cookies["sessionid"].value
        )
        await sync_to_async(store.delete)()
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED, within=1.5)


class GroupExpiryTests(SocketTestCase):
    """A socket older than the layer's ``group_expiry`` still hears its logout."""

    channel_layers: ClassVar[dict[str, Any]] = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 1},
        }
    }

    @override_settings(ASYNC_AUTH_REVALIDATE_INTERVAL=60)
    async def test_logout_after_group_expiry_closes(self) -> None:
        communicator = await self.open_accepted()
        await asyncio.sleep(2.5)  # past group_expiry, and past its rounding
        await sync_to_async(self.client.post)("/logout/")
        await self.assert_closed(communicator, CLOSE_UNAUTHENTICATED, within=0.5)


class LeavesItsGroupsTests(SocketTestCase):
    """A socket leaves its session, user and everyone groups however it ends:
    ``channels_redis`` keeps a member for a day, and every revocation sent to a
    group is then delivered to a channel nobody reads."""

    def members(self) -> dict[str, set[str]]:
        layer: Any = get_channel_layer()
        return {group: set(channels) for group, channels in layer.groups.items()}

    async def open_member(self, consumer: type) -> Any:
        communicator, (connected, _) = await self.open(consumer)
        self.assertTrue(connected)
        self.assertEqual(len(self.members()), 3, "not in its three groups")
        return communicator

    async def test_ending_with_an_exception(self) -> None:
        """A text frame that is not JSON, sent to a JSON consumer, ends it with an error."""
        communicator = await self.open_member(json_consumer(LoginRequiredMixin))
        await communicator.send_to(text_data="not json")
        with self.assertRaises(ValueError):
            await communicator.wait()
        self.assertEqual(self.members(), {})

    async def test_ending_with_an_exception_in_a_handler(self) -> None:
        async def broken(self: Any, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("handler broke")

        for base, make in SOCKETS.items():
            handler = "websocket_receive" if base == "AsyncConsumer" else "receive"
            with self.subTest(base=base):
                communicator = await self.open_member(
                    make(LoginRequiredMixin, **{handler: broken})
                )
                await communicator.send_to(text_data="hi")
                with self.assertRaisesMessage(RuntimeError, "handler broke"):
                    await communicator.wait()
                self.assertEqual(self.members(), {})

    async def test_disconnecting(self) -> None:
        for base, make in SOCKETS.items():
            with self.subTest(base=base):
                communicator = await self.open_member(make(LoginRequiredMixin))
                await communicator.disconnect()
                self.assertEqual(self.members(), {})

    async def test_disconnecting_from_a_consumer_that_does_not_stop(self) -> None:
        """A raw consumer's ``websocket_disconnect()`` that neither stops nor calls ``super()``."""

        async def websocket_disconnect(self: Any, message: Any) -> None:
            pass

        communicator = await self.open_member(
            raw_ws_consumer(
                LoginRequiredMixin, websocket_disconnect=websocket_disconnect
            )
        )
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await asyncio.sleep(0.05)
        self.assertEqual(self.members(), {})
        communicator.future.cancel()

    async def test_closing_itself(self) -> None:
        async def receive(
            self: Any, text_data: Any = None, bytes_data: Any = None
        ) -> None:
            await self.close(code=1000)

        communicator = await self.open_member(
            ws_consumer(LoginRequiredMixin, receive=receive)
        )
        await communicator.send_to(text_data="bye")
        self.assertEqual(
            (await communicator.receive_output())["type"], "websocket.close"
        )
        await communicator.disconnect()
        self.assertEqual(self.members(), {})

    async def test_being_cancelled(self) -> None:
        """The server cancels the consumer (a client gone, a shutdown)."""
        for base, make in SOCKETS.items():
            with self.subTest(base=base):
                communicator = await self.open_member(make(LoginRequiredMixin))
                communicator.future.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await communicator.future
                self.assertEqual(self.members(), {})

    async def test_being_cancelled_during_its_check(self) -> None:
        """A check that hangs holds the consumer until the server cancels it; the
        groups joined before the check are left."""
        checking = asyncio.Event()

        async def test_func(self: Any) -> bool:
            checking.set()
            await asyncio.Event().wait()
            return True

        consumer = ws_consumer(
            LoginRequiredMixin, UserPassesTestMixin, test_func=test_func
        )
        communicator = WebsocketCommunicator(app(consumer), "/ws/", headers=self.cookie)
        await communicator.send_input({"type": "websocket.connect"})
        await asyncio.wait_for(checking.wait(), 1)
        self.assertEqual(len(self.members()), 3)
        communicator.future.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await communicator.future
        self.assertEqual(self.members(), {})
        self.assertEqual(CONNECTED, [])

    async def test_a_layer_that_fails_to_discard_does_not_hide_the_error(self) -> None:
        """Leaving is tried for every group; a failure is logged, and the error
        that ended the consumer is the one that propagates."""
        layer: Any = get_channel_layer()
        discard = layer.group_discard
        calls: list[str] = []

        async def failing(group: str, channel: str) -> None:
            calls.append(group)
            if len(calls) == 1:
                raise ConnectionError("layer down")
            await discard(group, channel)

        communicator = await self.open_member(json_consumer(LoginRequiredMixin))
        layer.group_discard = failing
        await communicator.send_to(text_data="not json")
        with (
            self.assertLogs("async_auth_views", "WARNING") as logs,
            self.assertRaises(ValueError),
        ):
            await communicator.wait()
        self.assertEqual(len(calls), 3)
        self.assertEqual(len(self.members()), 1)
        self.assertIn("layer down", "\n".join(logs.output))
