"""Fail closed: a fault anywhere in the auth path never serves the protected view.

Each fault is injected into a real component (the SQLite connection refuses a
table; a backend's store is down; an async check errors, times out or hangs)
and requested through the whole middleware stack, on the async path
(``AsyncClient``) and the sync path (``Client``), on the three kinds of view.
The answer is a 500 with the cause logged once (Django's ``django.request``
log), the view's body never runs, and the next request, fault gone, is served.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from itertools import product
from typing import Any, ClassVar

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient, Client, SimpleTestCase, TestCase, override_settings

from async_auth_views.channels import (
    CLOSE_FORBIDDEN,
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
    revoke_user,
)
from async_auth_views.channels.revocation import _pending
from tests.channels.consumers import CONNECTED, app, ws_consumer
from tests.channels.support import ChannelsTestCase
from tests.kinds import KINDS

from .asgi import asgi_scope
from .faults import (
    ASYNC_FLAKY_BACKEND,
    FLAKY_BACKEND,
    HUNG,
    checked_test_func,
    fault,
    in_thread,
    refusing,
)
from .urls import PERMISSION


def pending_sends() -> list[asyncio.Task[None]]:
    """The revocation sends scheduled in the event loop and not done yet."""
    return list(_pending)


Injected = Callable[[], AbstractContextManager[None]]
AsyncInjected = Callable[[], AbstractAsyncContextManager[None]]


@override_settings(
    ROOT_URLCONF="tests.reliability.urls", AUTHENTICATION_BACKENDS=[FLAKY_BACKEND]
)
class HttpFaultTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")
        cls.alice.user_permissions.add(Permission.objects.get(codename="view_user"))

    def get(self, client: Client | AsyncClient, path: str) -> object:
        if isinstance(client, AsyncClient):
            return async_to_sync(client.get)(path)
        return client.get(path)

    def assert_fails_closed(self, injected: Injected, view: str, cause: str) -> None:
        """Under the fault: 500, the cause logged once, the view not run. After it: served."""
        for client_class, kind in product((AsyncClient, Client), KINDS):
            path = f"/{kind}/{view}/"
            with self.subTest(client=client_class.__name__, kind=kind):
                client = client_class(raise_request_exception=False)
                client.force_login(self.alice)
                with injected(), self.assertLogs(level="ERROR") as logs:
                    response = self.get(client, path)
                self.assertEqual(response.status_code, 500)
                self.assertNotIn(b"served", response.content)
                self.assertEqual(len(logs.records), 1, logs.output)
                self.assertEqual(logs.records[0].name, "django.request")
                self.assertIn(cause, logs.output[0])
                healthy = self.get(client, path)
                self.assertEqual(healthy.status_code, 200)
                self.assertEqual(healthy.content, b"served alice")

    def test_session_store_fails_while_loading(self) -> None:
        self.assert_fails_closed(
            lambda: refusing("django_session"), "login", "access to django_session"
        )

    def test_user_query_fails(self) -> None:
        self.assert_fails_closed(
            lambda: refusing("auth_user"), "login", "access to auth_user"
        )

    def test_backend_get_user_fails(self) -> None:
        self.assert_fails_closed(
            lambda: fault("get_user"), "login", "user store unavailable"
        )

    def test_permission_query_fails(self) -> None:
        self.assert_fails_closed(
            lambda: refusing("auth_permission"), "perm", "access to auth_permission"
        )

    def test_permission_backend_has_perm_fails(self) -> None:
        self.assert_fails_closed(
            lambda: fault("has_perm"), "perm", "permission store unavailable"
        )

    @override_settings(AUTHENTICATION_BACKENDS=[ASYNC_FLAKY_BACKEND])
    def test_permission_backend_ahas_perm_fails(self) -> None:
        # Async views await the backend's own ahas_perm(); sync ones call has_perm().
        self.assert_fails_closed(
            lambda: fault("has_perm"), "perm", "permission store unavailable"
        )

    def test_async_test_func_fails(self) -> None:
        self.assert_fails_closed(
            lambda: fault("test_func_raises"),
            "test-func",
            "policy service unavailable",
        )

    def test_async_test_func_times_out(self) -> None:
        self.assert_fails_closed(
            lambda: fault("test_func_times_out"), "test-func", "TimeoutError"
        )

    @override_settings(
        SESSION_ENGINE="django.contrib.sessions.backends.cache",
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                # Nothing listens on port 1 of the loopback: connection refused.
                "LOCATION": "redis://127.0.0.1:1/0",
            }
        },
    )
    def test_cache_session_backend_down_is_anonymous(self) -> None:
        """Django's cache sessions read an unreachable cache as an empty session:
        the documented denial is the login redirect, and the cookie is deleted."""
        for client_class, kind in product((AsyncClient, Client), KINDS):
            with self.subTest(client=client_class.__name__, kind=kind):
                client = client_class(raise_request_exception=False)
                client.cookies["sessionid"] = "k" * 32
                response = self.get(client, f"/{kind}/login/")
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response["Location"], f"/login/?next=/{kind}/login/")
                self.assertEqual(response.cookies["sessionid"].value, "")


@override_settings(ROOT_URLCONF="tests.reliability.urls")
class HungCheckTests(SimpleTestCase):
    """A check that never answers holds no response open once the client leaves."""

    def test_hung_async_test_func_is_cancelled_when_the_client_disconnects(
        self,
    ) -> None:
        async def scenario() -> list[str]:
            scope = asgi_scope("/async/test-func/")
            communicator = ApplicationCommunicator(ASGIHandler(), scope)
            await communicator.send_input({"type": "http.request", "body": b""})
            while not HUNG:
                await asyncio.sleep(0.01)
            await communicator.send_input({"type": "http.disconnect"})
            await communicator.wait(timeout=5)
            self.assertTrue(await communicator.receive_nothing())  # no response
            return list(HUNG)

        HUNG.clear()
        with fault("test_func_hangs"):
            self.assertEqual(async_to_sync(scenario)(), ["started", "cancelled"])


@override_settings(AUTHENTICATION_BACKENDS=[FLAKY_BACKEND])
class WebsocketFaultTests(ChannelsTestCase):
    """A fault during the handshake refuses the socket; during revalidation, closes it."""

    async def assert_accepted(self, consumer: type) -> None:
        communicator, (connected, _) = await self.open(consumer)
        self.assertTrue(connected)
        await communicator.send_to(text_data="hi")
        self.assertEqual(await communicator.receive_from(), "alice: hi")
        await communicator.disconnect()

    async def assert_handshake_fails(self, injected: AsyncInjected, cause: str) -> None:
        """The resolution raises out of the app: the server answers the handshake
        with 500 and logs the cause; connect() never ran. Then: accepted."""
        consumer = ws_consumer(LoginRequiredMixin)
        CONNECTED.clear()
        async with injected():
            communicator = WebsocketCommunicator(app(consumer), "/ws/", self.cookie)
            with self.assertRaisesMessage(Exception, cause):
                await communicator.connect()
        self.assertEqual(CONNECTED, [])
        await self.assert_accepted(consumer)

    async def assert_refused(
        self, consumer: type, injected: AsyncInjected, cause: str
    ) -> None:
        """The check raises: refused with CLOSE_FORBIDDEN, logged once. Then: accepted."""
        CONNECTED.clear()
        async with injected():
            with self.assertLogs(level="ERROR") as logs:
                communicator, (connected, code) = await self.open(consumer)
        self.assertEqual((connected, code), (False, CLOSE_FORBIDDEN))
        self.assertEqual(CONNECTED, [])
        await communicator.wait()
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertEqual(logs.records[0].name, "async_auth_views.channels.mixins")
        self.assertIn(cause, logs.output[0])
        await self.assert_accepted(consumer)

    async def test_session_store_fails_during_handshake(self) -> None:
        await self.assert_handshake_fails(
            lambda: in_thread(refusing("django_session")), "access to django_session"
        )

    async def test_user_query_fails_during_handshake(self) -> None:
        await self.assert_handshake_fails(
            lambda: in_thread(refusing("auth_user")), "access to auth_user"
        )

    async def test_backend_get_user_fails_during_handshake(self) -> None:
        await self.assert_handshake_fails(
            lambda: in_thread(fault("get_user")), "user store unavailable"
        )

    async def test_permission_backend_fails_during_the_check(self) -> None:
        permission = await Permission.objects.aget(codename="view_user")
        await self.user.user_permissions.aadd(permission)
        consumer = ws_consumer(PermissionRequiredMixin, permission_required=PERMISSION)
        await self.assert_refused(
            consumer,
            lambda: in_thread(fault("has_perm")),
            "permission store unavailable",
        )
        await self.assert_refused(
            consumer,
            lambda: in_thread(refusing("auth_permission")),
            "access to auth_permission",
        )

    async def test_async_test_func_fails_or_times_out(self) -> None:
        consumer = ws_consumer(UserPassesTestMixin, test_func=checked_test_func)
        await self.assert_refused(
            consumer,
            lambda: in_thread(fault("test_func_raises")),
            "policy service unavailable",
        )
        await self.assert_refused(
            consumer, lambda: in_thread(fault("test_func_times_out")), "TimeoutError"
        )

    async def test_session_store_fails_during_revalidation(self) -> None:
        communicator, (connected, _) = await self.open(ws_consumer(LoginRequiredMixin))
        self.assertTrue(connected)
        async with in_thread(refusing("django_session")):
            with self.assertLogs(level="ERROR") as logs:
                await self.user.asave()  # revalidates the user's sockets
                await self.assert_closed(communicator, CLOSE_FORBIDDEN)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("access to django_session", logs.output[0])


class ChannelLayerDownTests(ChannelsTestCase):
    """The channel layer (a real channels_redis layer, nothing listening) is down."""

    channel_layers: ClassVar[dict[str, Any]] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }

    async def test_handshake_is_refused(self) -> None:
        # A socket that cannot join its revocation groups could not be revoked.
        communicator = WebsocketCommunicator(
            app(ws_consumer(LoginRequiredMixin)), "/ws/", self.cookie
        )
        with self.assertRaisesMessage(Exception, "127.0.0.1:1"):
            await communicator.connect()
        self.assertEqual(CONNECTED, [])

    async def test_failed_revocation_from_the_event_loop_is_logged(self) -> None:
        with self.assertLogs("async_auth_views", "ERROR") as logs:
            revoke_user(self.user)
            await asyncio.gather(*pending_sends(), return_exceptions=True)
            await asyncio.sleep(0)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("Could not send async_auth.revoke", logs.output[0])
        self.assertIn("127.0.0.1:1", logs.output[0])
