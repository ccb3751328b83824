"""django-allauth's own login and logout views under ASGI, with our middleware,
and our Channels sockets closed by allauth's logout."""

from __future__ import annotations

from typing import Any, ClassVar

from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import AsyncClient, TransactionTestCase, override_settings
from django.urls import include, path
from django.views import View

from async_auth_views.channels import CLOSE_UNAUTHENTICATED
from async_auth_views.channels import LoginRequiredMixin as SocketLoginRequired
from async_auth_views.mixins import LoginRequiredMixin
from tests.channels.consumers import app, ws_consumer

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


class Private(LoginRequiredMixin, View):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"private for {request.user.get_username()}")


urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("private/", Private.as_view()),
    path("login/", Private.as_view()),  # LOGIN_URL of the test settings
]


class AllauthCase(TransactionTestCase):
    """Consumers run in the test's event loop, so rows must be committed."""

    channel_layers: ClassVar[dict[str, Any]] = IN_MEMORY

    def setUp(self) -> None:
        overrides = override_settings(
            ROOT_URLCONF=__name__,
            CHANNEL_LAYERS=self.channel_layers,
            LOGIN_URL="/accounts/login/",
        )
        overrides.enable()
        self.addCleanup(overrides.disable)
        User.objects.create_user("alice", password="alice-pass")

    async def log_in(self, client: AsyncClient) -> None:
        response = await client.post(
            "/accounts/login/", {"login": "alice", "password": "alice-pass"}
        )
        self.assertEqual(response.status_code, 302, response.content)
        self.assertEqual(response["Location"], settings.LOGIN_REDIRECT_URL)

    async def assert_logout_closes_the_socket(self) -> None:
        client = AsyncClient()
        await self.log_in(client)
        session = await client.asession()
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode()
        communicator = WebsocketCommunicator(
            app(ws_consumer(SocketLoginRequired)), "/ws/", headers=[(b"cookie", cookie)]
        )
        connected, _ = await communicator.connect()
        self.assertTrue(connected)
        await communicator.send_to(text_data="hi")
        self.assertEqual(await communicator.receive_from(), "alice: hi")

        await client.post("/accounts/logout/")

        message = await communicator.receive_output(timeout=1)
        self.assertEqual(message["type"], "websocket.close")
        self.assertEqual(message.get("code"), CLOSE_UNAUTHENTICATED)
        await communicator.send_to(text_data="after logout")
        self.assertTrue(await communicator.receive_nothing(timeout=0.1))
        await communicator.disconnect(code=CLOSE_UNAUTHENTICATED)


class AllauthTests(AllauthCase):
    async def test_login_through_allauth_then_an_async_view(self) -> None:
        client = AsyncClient()
        refused = await client.get("/private/")
        self.assertEqual(refused.status_code, 302)
        self.assertTrue(refused["Location"].startswith("/accounts/login/?next="))
        await self.log_in(client)
        response = await client.get("/private/")
        self.assertEqual(response.content, b"private for alice")

    async def test_wrong_password_is_refused(self) -> None:
        client = AsyncClient()
        response = await client.post(
            "/accounts/login/", {"login": "alice", "password": "wrong"}
        )
        self.assertEqual(response.status_code, 200)  # the form again, with errors
        self.assertEqual((await client.get("/private/")).status_code, 302)

    async def test_logout_through_allauth(self) -> None:
        client = AsyncClient()
        await self.log_in(client)
        response = await client.post("/accounts/logout/")
        self.assertEqual(response.status_code, 302)
        self.assertEqual((await client.get("/private/")).status_code, 302)

    async def test_allauths_logout_closes_the_socket(self) -> None:
        await self.assert_logout_closes_the_socket()
