"""The consumer access mixins: checked before the handshake, never failing open."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer, SyncConsumer
from channels.generic.http import AsyncHttpConsumer
from channels.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from channels.testing.http import HttpCommunicator
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
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

from .consumers import (
    CONNECTED,
    PAGES,
    SOCKETS,
    app,
    http_consumer,
    say,
    ws_consumer,
)
from .support import ChannelsTestCase

PERM = "auth.view_user"


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
            await Permission.objects.aget(codename="view_user")
        )
        await self.assert_accepted(
            ws_consumer(PermissionRequiredMixin, permission_required=PERM)
        )

    async def test_permissions_come_with_the_handshake_user(self) -> None:
        # The handshake re-reads the saved session (so that a logout cannot
        # slip in); the permissions are loaded in that same hop, not another.
        await self.user.user_permissions.aadd(
            await Permission.objects.aget(codename="view_user")
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
            "django.contrib.auth.backends.ModelBackend",
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
        for base in (SyncConsumer, WebsocketConsumer, JsonWebsocketConsumer):
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
        for base in (
            AsyncConsumer,
            AsyncWebsocketConsumer,
            AsyncJsonWebsocketConsumer,
            AsyncHttpConsumer,
        ):
            with (
                self.subTest(base=base.__name__),
                self.assertRaisesMessage(
                    ImproperlyConfigured,
                    f"Late lists {base.__name__} before LoginRequiredMixin, so "
                    "AsyncConsumer.__call__() would serve without the access check.",
                ),
            ):
                type("Late", (base, LoginRequiredMixin), {})


def _dispatch_without_the_check(self: Any, message: Any) -> Any:
    """A ``dispatch()`` that routes messages itself, without ``super()``."""
    return getattr(self, message["type"].replace(".", "_"))(message)


class RawConsumerTests(ChannelsTestCase):
    """Every consumer base Channels offers, a raw ``AsyncConsumer`` that sends its
    own ASGI messages included, is checked before any of its handlers runs."""

    async def test_sockets_are_checked_before_their_handlers(self) -> None:
        await self.user.user_permissions.aadd(
            await Permission.objects.aget(codename="view_group")
        )
        # Permissions of auth.Group, which every project has, whatever its user model.
        granted, refused = "auth.view_group", "auth.delete_group"
        cases: list[tuple[type, dict[str, Any], Any, Any]] = [
            (LoginRequiredMixin, {}, [], CLOSE_UNAUTHENTICATED),
            (LoginRequiredMixin, {}, None, "accepted"),
            (PermissionRequiredMixin, {"permission_required": granted}, [], 4401),
            (
                PermissionRequiredMixin,
                {"permission_required": granted},
                None,
                "accepted",
            ),
            (PermissionRequiredMixin, {"permission_required": refused}, None, 4403),
            (UserPassesTestMixin, {"test_func": _false}, None, CLOSE_FORBIDDEN),
            (UserPassesTestMixin, {"test_func": _atrue}, None, "accepted"),
        ]
        for base, make in SOCKETS.items():
            for mixin, attrs, headers, expected in cases:
                with self.subTest(base=base, mixin=mixin.__name__, attrs=attrs):
                    CONNECTED.clear()
                    consumer = make(mixin, **attrs)
                    communicator, (connected, code) = await self.open(consumer, headers)
                    if expected == "accepted":
                        self.assertTrue(connected)
                        self.assertEqual(
                            await say(communicator, consumer, "hi"), "alice: hi"
                        )
                        await communicator.disconnect()
                    else:
                        self.assertEqual((connected, code), (False, expected))
                        self.assertEqual(CONNECTED, [], "a refused handler ran")
                        await communicator.wait()

    async def test_pages_are_checked_before_their_handlers(self) -> None:
        cases: list[tuple[type, dict[str, Any], Any, Any]] = [
            (LoginRequiredMixin, {}, [], (302, b"")),
            (LoginRequiredMixin, {}, None, (200, b"page for alice")),
            (LoginRequiredMixin, {"raise_exception": True}, [], (403, b"")),
            (UserPassesTestMixin, {"test_func": _afalse}, None, (403, b"")),
            (
                UserPassesTestMixin,
                {"test_func": _false, "permission_denied_message": "not you"},
                None,
                (403, b"not you"),
            ),
        ]
        for base, make in PAGES.items():
            for mixin, attrs, headers, expected in cases:
                with self.subTest(base=base, mixin=mixin.__name__, attrs=attrs):
                    headers = self.cookie if headers is None else headers
                    communicator = HttpCommunicator(
                        app(make(mixin, **attrs)),
                        "GET",
                        "/page/",
                        headers=[(b"host", b"testserver"), *headers],
                    )
                    response = await communicator.get_response()
                    self.assertEqual((response["status"], response["body"]), expected)
                    if expected[0] == 302:
                        self.assertIn(
                            (b"Location", b"/login/?next=/page/"), response["headers"]
                        )

    async def test_websocket_connect_overridden_without_super(self) -> None:
        """The check does not live in websocket_connect(): overriding it skips nothing."""

        async def websocket_connect(self: Any, message: Any) -> None:
            CONNECTED.append("overridden")
            await self.accept()

        for headers, test_func, expected in [
            ([], _true, CLOSE_UNAUTHENTICATED),
            (None, _false, CLOSE_FORBIDDEN),
        ]:
            consumer = ws_consumer(
                LoginRequiredMixin,
                UserPassesTestMixin,
                test_func=test_func,
                websocket_connect=websocket_connect,
            )
            with self.subTest(anonymous=headers == []):
                communicator, (connected, code) = await self.open(consumer, headers)
                self.assertEqual((connected, code), (False, expected))
                self.assertEqual(CONNECTED, [])
                await communicator.wait()

    async def test_http_request_overridden_without_super(self) -> None:
        async def http_request(self: Any, message: Any) -> None:
            await self.send_response(200, b"secret")

        consumer = http_consumer(LoginRequiredMixin, http_request=http_request)
        communicator = HttpCommunicator(
            app(consumer), "GET", "/page/", headers=[(b"host", b"testserver")]
        )
        response = await communicator.get_response()
        self.assertEqual(response["status"], 302)
        self.assertNotEqual(response["body"], b"secret")


class SendGateTests(ChannelsTestCase):
    """No frame leaves a protected consumer before its check granted, or after
    its access was revoked, whatever code sends it: the guard is on the ASGI
    ``send`` every consumer speaks through."""

    async def test_a_socket_that_skips_the_check_is_never_accepted(self) -> None:
        for base, make in SOCKETS.items():
            for headers in ([], None):
                consumer = make(
                    LoginRequiredMixin, dispatch=_dispatch_without_the_check
                )
                communicator = WebsocketCommunicator(
                    app(consumer),
                    "/ws/",
                    headers=self.cookie if headers is None else [],
                )
                with (
                    self.subTest(base=base, anonymous=headers == []),
                    self.assertLogs("async_auth_views", "ERROR") as logs,
                ):
                    await communicator.send_input({"type": "websocket.connect"})
                    answer = await communicator.receive_output()
                    self.assertEqual(
                        (answer["type"], answer.get("code")),
                        ("websocket.close", CLOSE_FORBIDDEN),
                    )
                    with self.assertRaisesMessage(
                        ImproperlyConfigured, "before its access check"
                    ):
                        await communicator.wait()
                self.assertIn("websocket.accept", logs.output[0])
                self.assertTrue(communicator.output_queue.empty())

    async def test_a_page_that_skips_the_check_is_never_served(self) -> None:
        for base, make in PAGES.items():
            consumer = make(LoginRequiredMixin, dispatch=_dispatch_without_the_check)
            communicator = HttpCommunicator(
                app(consumer), "GET", "/page/", headers=[(b"host", b"testserver")]
            )
            with (
                self.subTest(base=base),
                self.assertLogs("async_auth_views", "ERROR") as logs,
                self.assertRaisesMessage(
                    ImproperlyConfigured, "before its access check"
                ),
            ):
                await communicator.get_response()
            self.assertIn("http.response.start", logs.output[0])
            # Nothing at all reached the client: the server answers 500.
            self.assertTrue(communicator.output_queue.empty())

    async def test_a_refusal_that_accepts_is_closed(self) -> None:
        """A ``handle_no_permission()`` that accepts (to send the browser a close
        code it can read) and forgets to close still ends with the socket closed."""

        async def handle_no_permission(self: Any) -> None:
            if hasattr(self, "accept"):
                await self.accept()
            else:
                await self.send({"type": "websocket.accept"})

        for base, make in SOCKETS.items():
            consumer = make(
                UserPassesTestMixin,
                test_func=_false,
                handle_no_permission=handle_no_permission,
            )
            with self.subTest(base=base):
                communicator, (connected, _) = await self.open(consumer)
                self.assertTrue(connected)
                closed = await communicator.receive_output()
                self.assertEqual(
                    (closed["type"], closed.get("code")),
                    ("websocket.close", CLOSE_FORBIDDEN),
                )
                self.assertEqual(CONNECTED, [])
                await communicator.wait()

    async def test_nothing_is_sent_after_revocation(self) -> None:
        """A task of the consumer's own that sends after the socket was revoked
        sends nothing: the client sees the close frame and then silence."""
        sent = asyncio.Event()
        release = asyncio.Event()

        async def receive(
            self: Any, text_data: Any = None, bytes_data: Any = None
        ) -> None:
            async def later() -> None:
                await release.wait()
                await self.send(text_data="secret after revocation")
                sent.set()

            self.later = asyncio.ensure_future(later())
            await self.send(text_data="started")

        consumer = ws_consumer(LoginRequiredMixin, receive=receive)
        communicator, (connected, _) = await self.open(consumer)
        self.assertTrue(connected)
        await communicator.send_to(text_data="go")
        self.assertEqual(await communicator.receive_from(), "started")
        await sync_to_async(self.client.post)("/logout/")
        closed = await communicator.receive_output()
        self.assertEqual(closed.get("code"), CLOSE_UNAUTHENTICATED)
        with self.assertLogs("async_auth_views", "WARNING") as logs:
            release.set()
            await asyncio.wait_for(sent.wait(), 1)
        self.assertIn("websocket.send", logs.output[0])
        self.assertTrue(await communicator.receive_nothing(0.05))
        await communicator.disconnect()


class MisplacedMixinTests(ChannelsTestCase):
    """A view mixin on a consumer, or a consumer mixin on a view, is refused
    when the class is defined, naming the import that fits."""

    def test_view_mixins_on_consumers(self) -> None:
        from async_auth_views import channels, mixins

        bases = [
            AsyncConsumer,
            AsyncWebsocketConsumer,
            AsyncJsonWebsocketConsumer,
            AsyncHttpConsumer,
        ]
        for name in mixins.__all__:
            for base in bases:
                if name in channels.__all__:
                    fix = f"Use async_auth_views.channels.{name}"
                else:
                    fix = f"async_auth_views.channels has no {name}"
                with (
                    self.subTest(mixin=name, base=base.__name__),
                    self.assertRaisesMessage(
                        TypeError,
                        f"Socket is a Channels consumer, but {name} from "
                        f"async_auth_views.mixins protects views. {fix}",
                    ),
                ):
                    type("Socket", (getattr(mixins, name), base), {})

    def test_consumer_mixins_on_views(self) -> None:
        from django.views import View
        from rest_framework.views import APIView

        from async_auth_views import channels
        from async_auth_views.views import AsyncView

        names = [name for name in channels.__all__ if name.endswith("Mixin")]
        for name in names:
            for base in (View, AsyncView, APIView):
                with (
                    self.subTest(mixin=name, base=base.__name__),
                    self.assertRaisesMessage(
                        TypeError,
                        f"Page is a view, but {name} from async_auth_views.channels "
                        f"protects Channels consumers. Use async_auth_views.mixins.{name}",
                    ),
                ):
                    type("Page", (getattr(channels, name), base), {})


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
            await Permission.objects.aget(codename="view_user")
        )
        both = [PERM, "auth.delete_user"]
        consumer = ws_consumer(PermissionRequiredMixin, permission_required=both)
        self.assertEqual(await self.outcome(consumer), CLOSE_FORBIDDEN)
        consumer = ws_consumer(
            PermissionRequiredMixin, permission_required=both, any_perm=True
        )
        self.assertEqual(await self.outcome(consumer), "accepted")

    @override_settings(
        AUTHENTICATION_BACKENDS=[
            "django.contrib.auth.backends.ModelBackend",
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
