"""django-ninja's ``django_auth`` on async operations, under our middleware.

ninja 1.7.1 runs a sync auth callback such as ``django_auth`` in a thread; under
our middleware that thread finds the user already resolved and queries
nothing. An operation that reads ``request.user`` itself (ninja #1251, #658)
gets the concrete user, where Django's lazy one raises
``SynchronousOnlyOperation``. No helper is needed; ``AsyncSessionAuth`` below
is the four-line subclass docs/integrations.rst shows to save ninja's hop.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import SynchronousOnlyOperation
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path
from ninja import NinjaAPI
from ninja.security import SessionAuth, django_auth

from tests.measure import cost_of

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
OURS = "async_auth_views.middleware.AuthenticationMiddleware"
DJANGO_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"


class AsyncSessionAuth(SessionAuth):
    """ninja's ``SessionAuth``, awaited in the event loop instead of a thread."""

    async def authenticate(self, request: Any, key: str | None) -> Any:
        user = await request.auser()
        return user if user.is_authenticated else None


api = NinjaAPI(urls_namespace="compat-ninja")


@api.get("/whoami", auth=django_auth)
async def whoami(request: Any) -> dict[str, Any]:
    return {"user": request.auth.get_username(), "same": request.auth is request.user}


@api.get("/whoami-async-auth", auth=AsyncSessionAuth())
async def whoami_async_auth(request: Any) -> dict[str, Any]:
    return {"user": request.auth.get_username(), "same": request.auth is request.user}


@api.get("/reads-user")
async def reads_user(request: Any) -> dict[str, Any]:
    return {"user": request.user.get_username()}


@api.get("/public")
async def public(request: Any) -> dict[str, Any]:
    return {}


urlpatterns = [path("api/", api.urls)]


@override_settings(ROOT_URLCONF=__name__)
class DjangoAuthTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")

    async def test_anonymous_is_401(self) -> None:
        for url in ["/api/whoami", "/api/whoami-async-auth"]:
            with self.subTest(url=url):
                response = await self.async_client.get(url)
                self.assertEqual(response.status_code, 401)

    async def test_authenticated_gets_the_eager_user(self) -> None:
        await self.async_client.aforce_login(self.alice)
        for url in ["/api/whoami", "/api/whoami-async-auth"]:
            with self.subTest(url=url):
                response = await self.async_client.get(url)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.json(), {"user": "alice", "same": True})

    async def test_an_operation_reads_request_user(self) -> None:
        await self.async_client.aforce_login(self.alice)
        response = await self.async_client.get("/api/reads-user")
        self.assertEqual(response.json(), {"user": "alice"})

    @override_settings(MIDDLEWARE=[SESSION, DJANGO_AUTH])
    async def test_under_djangos_middleware_reading_request_user_raises(self) -> None:
        await self.async_client.aforce_login(self.alice)
        with self.assertRaises(SynchronousOnlyOperation):
            await self.async_client.get("/api/reads-user")


@override_settings(ROOT_URLCONF=__name__)
class CostTests(TestCase):
    """SQL statements and thread hops, counted (see docs/integrations.rst)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")

    def cost(self, url: str, middleware: list[str]) -> Any:
        with override_settings(MIDDLEWARE=middleware):
            client = AsyncClient()
            client.force_login(self.alice)
            cost = cost_of(client, "get", url)
        self.assertEqual(cost.response.status_code, 200, cost.response.content)
        return cost

    def test_django_auth_queries_nothing_in_ninjas_hop(self) -> None:
        authenticated = self.cost("/api/whoami", [SESSION, OURS])
        public = self.cost("/api/public", [SESSION, OURS])
        self.assertEqual(authenticated - public, (0, 1))
        added = [hop for hop in authenticated.hops if hop not in public.hops]
        self.assertEqual(added, ["SessionAuth"])

    def test_an_async_session_auth_costs_nothing(self) -> None:
        authenticated = self.cost("/api/whoami-async-auth", [SESSION, OURS])
        public = self.cost("/api/public", [SESSION, OURS])
        self.assertEqual(authenticated - public, (0, 0))

    def test_under_djangos_middleware_django_auth_queries_in_ninjas_hop(self) -> None:
        ours = self.cost("/api/whoami", [SESSION, OURS])
        djangos = self.cost("/api/whoami", [SESSION, DJANGO_AUTH])
        # The same two statements, run by ninja's hop there and by ours here.
        self.assertEqual(djangos - ours, (0, 0))
        public = self.cost("/api/public", [SESSION, DJANGO_AUTH])
        self.assertEqual(len(djangos.sql), 2)
        # Where nothing reads the user, Django's lazy one costs nothing, ours
        # the same two statements (ASYNC_AUTH_LAZY_PATHS opts such paths out).
        public = self.cost("/api/public", [SESSION, DJANGO_AUTH])
        self.assertEqual(len(public.sql), 0)
