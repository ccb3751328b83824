"""django-otp's ``OTPMiddleware`` after ours: ``is_verified()`` in async views and
their templates, for an OTP-verified user and an unverified one.

``OTPMiddleware`` wraps ``request.user`` in a lazy object and ``request.auser``
in a function that awaits ours and then looks up the session's device. On the
async path our middleware reads that lazy user in a thread before the view
(``AuthenticationMiddleware.aprocess_view()``), so sync code and templates
read ``is_verified()`` freely; ``await request.auser()`` gives the same answer.
The full matrix (sync and lazy paths, mixins, hooks) is in
``tests/test_middleware_extension.py``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.shortcuts import render
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path
from django.views import View
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.decorators import otp_required
from django_otp.plugins.otp_static.models import StaticDevice

from async_auth_views.mixins import LoginRequiredMixin
from async_auth_views.resolver import arequest_user
from tests.compat.settings import MIDDLEWARE

OURS = "async_auth_views.middleware.AuthenticationMiddleware"
OTP = "django_otp.middleware.OTPMiddleware"
WITH_OTP = [
    *MIDDLEWARE[: MIDDLEWARE.index(OURS) + 1],
    OTP,
    *MIDDLEWARE[MIDDLEWARE.index(OURS) + 1 :],
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {
                        "otp.html": (
                            "view={{ in_view }} template={{ user.is_verified }} "
                            "request={{ request.user.is_verified }}"
                        )
                    },
                )
            ],
        },
    }
]


def _page(request: Any, user: Any) -> HttpResponse:
    return render(request, "otp.html", {"in_view": user.is_verified()})


class MixinPage(LoginRequiredMixin, View):
    async def get(self, request: Any) -> HttpResponse:
        return _page(request, request.user)


class SyncMixinPage(LoginRequiredMixin, View):
    def get(self, request: Any) -> HttpResponse:
        return _page(request, request.user)


async def auser_page(request: Any) -> HttpResponse:
    user = await arequest_user(request)
    return _page(request, user)


@login_required
async def login_required_page(request: Any) -> HttpResponse:
    return _page(request, await request.auser())


@otp_required
async def otp_required_page(request: Any) -> HttpResponse:
    return HttpResponse("verified only")


urlpatterns = [
    path("mixin/", MixinPage.as_view()),
    path("sync-mixin/", SyncMixinPage.as_view()),
    path("auser/", auser_page),
    path("login-required/", login_required_page),
    path("otp-required/", otp_required_page),
]
# Pages that read the user through our mixins or arequest_user(), which leave
# the verified user in request.user for the template.
ASYNC_PAGES = ("/mixin/", "/auser/")


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=WITH_OTP, TEMPLATES=TEMPLATES)
class OTPTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")
        cls.device = StaticDevice.objects.create(
            user=cls.alice, name="backup", confirmed=True
        )

    async def client_for(self, verified: bool, device: Any = None) -> AsyncClient:
        client = AsyncClient()
        await client.aforce_login(self.alice)
        if verified:
            session = await client.asession()
            await session.aset(
                DEVICE_ID_SESSION_KEY, (device or self.device).persistent_id
            )
            await session.asave()
        return client

    async def page(self, url: str, verified: bool) -> bytes:
        response = await (await self.client_for(verified)).get(url)
        self.assertEqual(response.status_code, 200, response.content)
        return bytes(response.content)

    async def test_unverified_user_in_async_views(self) -> None:
        for url in ASYNC_PAGES:
            with self.subTest(url=url):
                self.assertEqual(
                    await self.page(url, verified=False),
                    b"view=False template=False request=False",
                )

    async def test_verified_user_in_async_views(self) -> None:
        for url in ASYNC_PAGES:
            self.assertEqual(
                await self.page(url, verified=True),
                b"view=True template=True request=True",
                url,
            )

    async def test_sync_view(self) -> None:
        for verified in (False, True):
            with self.subTest(verified=verified):
                expected = f"view={verified} template={verified} request={verified}"
                content = await self.page("/sync-mixin/", verified)
                self.assertEqual(content, expected.encode())

    async def test_otp_required_refuses_the_unverified(self) -> None:
        response = await (await self.client_for(verified=False)).get("/otp-required/")
        self.assertEqual(response.status_code, 302)

    async def test_otp_required_serves_the_verified(self) -> None:
        response = await (await self.client_for(verified=True)).get("/otp-required/")
        self.assertEqual(response.content, b"verified only")

    async def test_djangos_decorators_for_the_verified(self) -> None:
        # login_required awaits request.auser(); OTPMiddleware's lazy
        # request.user was read in a thread before the view, so the template
        # reads it too, without a query in the event loop.
        content = await self.page("/login-required/", verified=True)
        self.assertEqual(content, b"view=True template=True request=True")

    async def test_djangos_decorators_for_the_unverified(self) -> None:
        content = await self.page("/login-required/", verified=False)
        self.assertEqual(content, b"view=False template=False request=False")

    async def test_a_device_of_another_user_does_not_verify(self) -> None:
        bob = await User.objects.acreate_user("bob", password="pw")
        device = await StaticDevice.objects.acreate(user=bob, name="b", confirmed=True)
        client = await self.client_for(verified=True, device=device)
        response = await client.get("/otp-required/")
        self.assertEqual(response.status_code, 302)
