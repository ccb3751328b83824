"""AuthMiddleware: the HTTP middleware's resolver, eagerly, at its cost."""

from __future__ import annotations

from typing import Any

from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import AsyncClient
from django.utils.functional import LazyObject

from async_auth_views.channels import AuthMiddleware, AuthMiddlewareStack
from tests.measure import counting_hops
from tests.project import User

from .support import ChannelsTestCase


class ScopeUser:
    """An ASGI app that accepts and reports the scope's user, without reading the DB."""

    seen: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        type(self).seen = scope["user"]
        await receive()
        await send({"type": "websocket.accept"})


class AuthMiddlewareTests(ChannelsTestCase):
    async def resolve(self, headers: Any) -> tuple[Any, list[str]]:
        communicator = WebsocketCommunicator(
            AuthMiddlewareStack(ScopeUser()), "/ws/", headers=headers
        )
        with counting_hops() as hops:
            connected, _ = await communicator.connect()
        self.assertTrue(connected)
        await communicator.disconnect()
        return ScopeUser.seen, hops

    async def test_authenticated_user_is_concrete_in_one_hop(self) -> None:
        user, hops = await self.resolve(self.cookie)
        self.assertIsInstance(user, User)
        self.assertNotIsInstance(user, LazyObject)
        self.assertEqual(user.pk, self.user.pk)
        self.assertEqual(hops, ["resolve_user"])

    async def test_no_cookie_is_anonymous_with_no_hop(self) -> None:
        user, hops = await self.resolve([])
        self.assertIsInstance(user, AnonymousUser)
        self.assertEqual(hops, [])

    async def test_unknown_session_is_anonymous(self) -> None:
        user, _ = await self.resolve([(b"cookie", b"sessionid=not-a-real-session")])
        self.assertIsInstance(user, AnonymousUser)

    async def test_stale_session_hash_is_anonymous_as_over_http(self) -> None:
        self.user.set_password("changed")
        await self.user.asave()
        user, _ = await self.resolve(self.cookie)
        self.assertIsInstance(user, AnonymousUser)

    async def test_inactive_user_is_anonymous_as_over_http(self) -> None:
        self.user.is_active = False
        await self.user.asave()
        user, _ = await self.resolve(self.cookie)
        self.assertIsInstance(user, AnonymousUser)

    async def test_secret_key_rotation_keeps_the_websocket_session(self) -> None:
        """Django cycles the key when a fallback verifies the hash; a WebSocket
        cannot send the new cookie, so its key must survive the rotation."""
        from django.contrib.sessions.models import Session
        from django.test import override_settings

        key = self.client.session.session_key
        with override_settings(
            SECRET_KEY="rotated", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
        ):
            user, _ = await self.resolve(self.cookie)
            self.assertEqual(user.pk, self.user.pk)
            self.assertTrue(await Session.objects.filter(session_key=key).aexists())
            user, _ = await self.resolve(self.cookie)
            self.assertEqual(user.pk, self.user.pk)
        with override_settings(SECRET_KEY="rotated"):
            user, _ = await self.resolve(self.cookie)
            self.assertIsInstance(user, AnonymousUser)

    async def test_agrees_with_http(self) -> None:
        for client, headers in ((self.client, self.cookie), (AsyncClient(), [])):
            http = AsyncClient()
            http.cookies = client.cookies
            response = await http.get("/whoami/")
            user, _ = await self.resolve(headers)
            self.assertEqual(response.content.decode(), str(user.pk))

    async def test_no_session_in_scope_is_a_clear_error(self) -> None:
        communicator = WebsocketCommunicator(AuthMiddleware(ScopeUser()), "/ws/")
        await communicator.send_input({"type": "websocket.connect"})
        with self.assertRaisesMessage(
            ValueError, "AuthMiddleware cannot find session in scope"
        ):
            await communicator.wait()
