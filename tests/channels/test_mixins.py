"""The consumer access mixins: checked before the handshake, never failing open."""

from __future__ import annotations

from typing import Any, ClassVar

from asgiref.sync import sync_to_async
from channels.generic.websocket import (
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from channels.testing.http import HttpCommunicator
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from async_auth_views.channels import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    GroupRequiredMixin,
    LoginRequiredMixin,
    PermissionRequiredMixin,
    StaffuserRequiredMixin,
    SuperuserRequiredMixin,
    UserPassesTestMixin,
)
from tests.measure import counting_hops
from tests.project import LOGIN_BACKEND, User, stock_only, user_perm, user_perm_lookup

from .consumers import CONNECTED, app, http_consumer, ws_consumer
from .support import ChannelsTestCase

PERM = user_perm("view")


def _true(self: Any) -> bool:
    return True


def _false(self: Any) -> bool:
    return False


async def _atrue(self: Any) -> bool:
    return True


async def _afalse(self: Any) -> bool:
    return False


def _raises(self: Any) -> bool:
    raise RuntimeError("check broke")


async def _araises(self: Any) -> bool:
    raise RuntimeError("check broke")


class WebsocketAccessTests(ChannelsTestCase):
    async def assert_accepted(self, consumer: type, headers: Any = None) -> None:
        communicator, (connected, _) = await self.open(consumer, headers)
        self.assertTrue(connected)
        self.assertEqual(CONNECTED, ["EchoConsumer"])
        await communicator.send_to(text_data="hi")
        self.assertEqual(await communicator.receive_from(), "alice: hi")
        await communicator.disconnect()

    async def assert_refused(
        self, consumer: type, code: int, headers: Any = None
    ) -> None:
        communicator, (connected, close_code) = await self.open(consumer, headers)
        self.assertFalse(connected)
        self.assertEqual(close_code, code)
        self.assertEqual(CONNECTED, [], "connect() ran for a refused socket")
        await communicator.wait()  # the consumer has ended

    async def test_login_required_refuses_anonymous(self) -> None:
        await self.assert_refused(
            ws_consumer(LoginRequiredMixin), CLOSE_UNAUTHENTICATED, headers=[]
        )

    async def test_login_required_accepts_user_with_concrete_scope_user(self) -> None:
        await self.assert_accepted(ws_consumer(LoginRequiredMixin))

    async def test_permission_required_allows(self) -> None:
        await self.user.user_permissions.aadd(
            await Permission.objects.aget(**user_perm_lookup("view"))
        )
        await self.assert_accepted(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM)
        )

    @stock_only
    async def test_permissions_come_with_the_handshake_user(self) -> None:
        # The handshake re-reads the saved session (so that a logout cannot
        # slip in); the permissions are loaded in that same hop, not another.
        await self.user.user_permissions.aadd(
            await Permission.objects.aget(**user_perm_lookup("view"))
        )
        consumer = ws_consumer(PermissionRequiredMixin, permission_required=PERM)
        with counting_hops() as hops:
            communicator, (connected, _) = await self.open(consumer)
        self.assertTrue(connected)
        # The middleware, then the re-read (which also learns the expiry).
        self.assertEqual(hops.count("resolve_user"), 1)
        self.assertEqual(hops.count("resolve_user_until"), 1)
        self.assertNotIn("has_perms", hops)
        await communicator.disconnect()

    async def test_permission_required_denies(self) -> None:
        await self.assert_refused(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM),
            CLOSE_FORBIDDEN,
        )

    async def test_permission_required_anonymous_is_unauthenticated(self) -> None:
        await self.assert_refused(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM),
            CLOSE_UNAUTHENTICATED,
            headers=[],
        )

    async def test_permission_required_unset_refuses(self) -> None:
        await self.assert_refused(ws_consumer(PermissionRequiredMixin), CLOSE_FORBIDDEN)

    async def test_has_permission_sync_and_async(self) -> None:
        for has_permission, accepted in [
            (_true, True),
            (_atrue, True),
            (_false, False),
            (_afalse, False),
        ]:
            with self.subTest(has_permission.__name__):
                CONNECTED.clear()
                consumer = ws_consumer(
                    PermissionRequiredMixin, has_permission=has_permission
                )
                if accepted:
                    await self.assert_accepted(consumer)
                else:
                    await self.assert_refused(consumer, CLOSE_FORBIDDEN)

    async def test_permission_object_async(self) -> None:
        async def get_permission_object(self: Any) -> str:
            return "the-object"

        consumer = ws_consumer(
            PermissionRequiredMixin,
            permission_required=PERM,
            get_permission_object=get_permission_object,
        )
        backends = [
            LOGIN_BACKEND,
            "tests.channels.test_mixins.Backend",
        ]
        Backend.calls.clear()
        with self.settings(AUTHENTICATION_BACKENDS=backends):
            await self.assert_refused(consumer, CLOSE_FORBIDDEN)
        self.assertEqual(Backend.calls, ["the-object"])

    async def test_test_func_sync_and_async(self) -> None:
        for test_func, accepted in [
            (_true, True),
            (_atrue, True),
            (_false, False),
            (_afalse, False),
        ]:
            with self.subTest(test_func.__name__):
                CONNECTED.clear()
                consumer = ws_consumer(UserPassesTestMixin, test_func=test_func)
                if accepted:
                    await self.assert_accepted(consumer)
                else:
                    await self.assert_refused(consumer, CLOSE_FORBIDDEN)

    async def test_get_test_func(self) -> None:
        consumer = ws_consumer(
            UserPassesTestMixin, test_func=_true, get_test_func=lambda self: self.deny
        )
        consumer.deny = _afalse  # type: ignore[attr-defined]
        await self.assert_refused(consumer, CLOSE_FORBIDDEN)

    async def test_exception_in_check_refuses(self) -> None:
        for attrs in [
            {"test_func": _raises},
            {"test_func": _araises},
            {},  # test_func not implemented
        ]:
            with self.subTest(attrs), self.assertLogs("async_auth_views", "ERROR"):
                CONNECTED.clear()
                await self.assert_refused(
                    ws_consumer(UserPassesTestMixin, **attrs), CLOSE_FORBIDDEN
                )

    async def test_combined_mixins_check_login_first(self) -> None:
        consumer = ws_consumer(
            LoginRequiredMixin, UserPassesTestMixin, test_func=_raises
        )
        await self.assert_refused(consumer, CLOSE_UNAUTHENTICATED, headers=[])

    async def test_consumer_without_auth_middleware_is_refused(self) -> None:
        from channels.testing.websocket import WebsocketCommunicator

        consumer = ws_consumer(LoginRequiredMixin)
        communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/")
        await communicator.send_input({"type": "websocket.connect"})
        with self.assertRaisesMessage(ImproperlyConfigured, "AuthMiddlewareStack"):
            await communicator.wait()


class Backend:
    """An object-permission backend that records what it was asked."""

    calls: ClassVar[list[Any]] = []

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None

    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        self.calls.append(obj)
        return False


class ClassCreationTests(ChannelsTestCase):
    def test_sync_consumers_are_refused(self) -> None:
        for base in (WebsocketConsumer, JsonWebsocketConsumer):
            for mixin in (
                LoginRequiredMixin,
                PermissionRequiredMixin,
                UserPassesTestMixin,
            ):
                message = f"Sync is a sync consumer, which {mixin.__name__} cannot"
                with (
                    self.subTest(base=base, mixin=mixin),
                    self.assertRaisesMessage(ImproperlyConfigured, message),
                ):
                    type("Sync", (mixin, base), {})

    def test_mixin_after_the_consumer_is_refused(self) -> None:
        with self.assertRaisesMessage(
            ImproperlyConfigured,
            "Late lists AsyncWebsocketConsumer before LoginRequiredMixin, so "
            "AsyncWebsocketConsumer.websocket_connect() would serve without the "
            "access check.",
        ):
            type("Late", (AsyncWebsocketConsumer, LoginRequiredMixin), {})


class OverriddenEntryPointTests(ChannelsTestCase):
    """A consumer that overrides the method the check runs in, without
    ``super()``, is never served: the handshake or response it sends raises."""

    async def test_websocket_connect_overridden_without_super(self) -> None:
        async def websocket_connect(self: Any, message: Any) -> None:
            await self.accept()

        for user_headers in ([], None):
            consumer = ws_consumer(
                UserPassesTestMixin,
                test_func=lambda self: False,
                websocket_connect=websocket_connect,
            )
            with (
                self.subTest(anonymous=user_headers == []),
                self.assertRaisesMessage(
                    ImproperlyConfigured, "before its access check"
                ),
            ):
                await self.open(consumer, user_headers)

    async def test_http_request_overridden_without_super(self) -> None:
        async def http_request(self: Any, message: Any) -> None:
            await self.send_response(200, b"secret")

        consumer = http_consumer(LoginRequiredMixin, http_request=http_request)
        communicator = HttpCommunicator(
            app(consumer), "GET", "/page/", headers=[(b"host", b"testserver")]
        )
        with self.assertRaisesMessage(ImproperlyConfigured, "before its access check"):
            await communicator.get_response()


class HttpAccessTests(ChannelsTestCase):
    async def get(self, consumer: type, headers: Any = None) -> dict[str, Any]:
        headers = self.cookie if headers is None else headers
        communicator = HttpCommunicator(
            app(consumer),
            "GET",
            "/page/?x=1",
            headers=[(b"host", b"testserver"), *headers],
        )
        return await communicator.get_response()

    async def test_anonymous_is_redirected_to_login_with_next(self) -> None:
        response = await self.get(http_consumer(LoginRequiredMixin), headers=[])
        self.assertEqual(response["status"], 302)
        self.assertIn(
            (b"Location", b"/login/?next=/page/%3Fx%3D1"), response["headers"]
        )

    @override_settings(LOGIN_URL="/accounts/login/")
    async def test_login_url_and_redirect_field_name(self) -> None:
        consumer = http_consumer(LoginRequiredMixin, redirect_field_name="to")
        response = await self.get(consumer, headers=[])
        self.assertIn(
            (b"Location", b"/accounts/login/?to=/page/%3Fx%3D1"), response["headers"]
        )

    async def test_raise_exception_answers_403(self) -> None:
        consumer = http_consumer(
            LoginRequiredMixin, raise_exception=True, permission_denied_message="no"
        )
        response = await self.get(consumer, headers=[])
        self.assertEqual((response["status"], response["body"]), (403, b"no"))

    async def test_authenticated_without_permission_gets_403(self) -> None:
        consumer = http_consumer(PermissionRequiredMixin, permission_required=PERM)
        response = await self.get(consumer)
        self.assertEqual(response["status"], 403)

    async def test_allowed_is_served(self) -> None:
        response = await self.get(http_consumer(LoginRequiredMixin))
        self.assertEqual(
            (response["status"], response["body"]), (200, b"page for alice")
        )

    async def test_exception_in_check_answers_403(self) -> None:
        consumer = http_consumer(UserPassesTestMixin, test_func=_araises)
        with self.assertLogs("async_auth_views", "ERROR"):
            response = await self.get(consumer)
        self.assertEqual(response["status"], 403)


class HttpBadRequestTests(ChannelsTestCase):
    """A request Django answers 400 gets 400 from a protected consumer too."""

    async def get(self, headers: Any, query_string: bytes = b"") -> dict[str, Any]:
        communicator = HttpCommunicator(
            app(http_consumer(LoginRequiredMixin)), "GET", "/page/", headers=headers
        )
        communicator.scope["query_string"] = query_string
        return await communicator.get_response()

    async def test_host_not_in_allowed_hosts(self) -> None:
        with (
            self.assertNoLogs("async_auth_views", "ERROR"),
            self.assertLogs("django.security.DisallowedHost", "ERROR") as logs,
        ):
            response = await self.get([(b"host", b"evil.example")])
        self.assertEqual(response["status"], 400)
        self.assertIsNone(logs.records[0].exc_info)  # no traceback

    async def test_query_string_not_utf8(self) -> None:
        with (
            self.assertNoLogs("async_auth_views", "ERROR"),
            self.assertNoLogs("django.request", "ERROR"),
        ):
            response = await self.get([(b"host", b"testserver")], b"next=%ff\xff\xfe")
        self.assertEqual(response["status"], 400)


class NewRuleConsumerTests(ChannelsTestCase):
    """Group, superuser and staff rules, and guardian's options, on consumers."""

    async def outcome(self, consumer: type, headers: Any = None) -> Any:
        communicator, (connected, code) = await self.open(consumer, headers)
        if connected:
            await communicator.disconnect()
            return "accepted"
        return code

    async def test_group_required(self) -> None:
        from django.contrib.auth.models import Group

        editors = await Group.objects.acreate(name="editors")
        consumer = ws_consumer(GroupRequiredMixin, group_required=["admins", "editors"])
        self.assertEqual(await self.outcome(consumer), CLOSE_FORBIDDEN)
        await self.user.groups.aadd(editors)
        self.assertEqual(await self.outcome(consumer), "accepted")
        self.assertEqual(await self.outcome(consumer, []), CLOSE_UNAUTHENTICATED)

    async def test_group_names_come_with_the_handshake_user(self) -> None:
        from django.contrib.auth.models import Group

        await self.user.groups.aadd(await Group.objects.acreate(name="editors"))
        consumer = ws_consumer(GroupRequiredMixin, group_required="editors")
        with counting_hops() as hops:
            self.assertEqual(await self.outcome(consumer), "accepted")
        # The middleware, then the re-read (which also learns the expiry).
        self.assertEqual(hops.count("resolve_user"), 1)
        self.assertEqual(hops.count("resolve_user_until"), 1)
        self.assertNotIn("in_any_group", hops)

    async def test_losing_the_group_closes_with_forbidden(self) -> None:
        from django.contrib.auth.models import Group

        editors = await Group.objects.acreate(name="editors")
        await self.user.groups.aadd(editors)
        communicator, (connected, _) = await self.open(
            ws_consumer(GroupRequiredMixin, group_required="editors")
        )
        self.assertTrue(connected)
        await self.user.groups.aremove(editors)
        await self.user.asave()
        await self.assert_closed(communicator, CLOSE_FORBIDDEN)

    async def test_superuser_and_staff_required(self) -> None:
        for mixin, field in [
            (SuperuserRequiredMixin, "is_superuser"),
            (StaffuserRequiredMixin, "is_staff"),
        ]:
            with self.subTest(mixin=mixin.__name__):
                await User.objects.filter(pk=self.user.pk).aupdate(**{field: False})
                self.assertEqual(
                    await self.outcome(ws_consumer(mixin)), CLOSE_FORBIDDEN
                )
                await User.objects.filter(pk=self.user.pk).aupdate(**{field: True})
                self.assertEqual(await self.outcome(ws_consumer(mixin)), "accepted")
                self.assertEqual(
                    await self.outcome(ws_consumer(mixin), []), CLOSE_UNAUTHENTICATED
                )

    async def test_any_perm(self) -> None:
        await self.user.user_permissions.aadd(
            await Permission.objects.aget(**user_perm_lookup("view"))
        )
        both = [PERM, user_perm("delete")]
        consumer = ws_consumer(PermissionRequiredMixin, permission_required=both)
        self.assertEqual(await self.outcome(consumer), CLOSE_FORBIDDEN)
        consumer = ws_consumer(
            PermissionRequiredMixin, permission_required=both, any_perm=True
        )
        self.assertEqual(await self.outcome(consumer), "accepted")

    @override_settings(
        AUTHENTICATION_BACKENDS=[
            LOGIN_BACKEND,
            "guardian.backends.ObjectPermissionBackend",
        ]
    )
    async def test_accept_global_perms_with_guardian(self) -> None:
        from guardian.shortcuts import assign_perm

        from tests.models import Article

        dune = await Article.objects.acreate(title="Dune")
        emma = await Article.objects.acreate(title="Emma")
        await sync_to_async(assign_perm)("tests.change_article", self.user, dune)

        def consumer(article: Any, **attrs: Any) -> type:
            async def get_permission_object(self: Any) -> Any:
                return article

            return ws_consumer(
                PermissionRequiredMixin,
                permission_required="tests.change_article",
                get_permission_object=get_permission_object,
                **attrs,
            )

        self.assertEqual(await self.outcome(consumer(dune)), "accepted")
        self.assertEqual(await self.outcome(consumer(emma)), CLOSE_FORBIDDEN)
        await self.user.user_permissions.aadd(
            await Permission.objects.aget(codename="change_article")
        )
        self.assertEqual(await self.outcome(consumer(emma)), CLOSE_FORBIDDEN)
        self.assertEqual(
            await self.outcome(consumer(emma, accept_global_perms=True)), "accepted"
        )
