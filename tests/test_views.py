"""AsyncViewMixin / AsyncView: any class-based view made async."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import TestCase, override_settings
from django.urls import path
from django.views import View
from django.views.generic import ListView, TemplateView

from async_auth_views.mixins import LoginRequiredMixin
from async_auth_views.views import AsyncView, AsyncViewMixin

from .kinds import make_request
from .measure import cost_of
from .models import Article


class Mixed(AsyncView):
    """A sync get and an async post: Django's own View refuses this mix."""

    def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"get in {threading.current_thread().name}")

    async def post(self, request: Any) -> HttpResponse:
        return HttpResponse("post")


class Articles(LoginRequiredMixin, AsyncViewMixin, ListView):  # type: ignore[type-arg]
    model = Article
    template_name = "tests/articles.html"


class Hello(AsyncViewMixin, TemplateView):
    template_name = "tests/hello.html"


urlpatterns = [
    path("mixed/", Mixed.as_view()),
    path("articles/", Articles.as_view()),
    path("hello/", Hello.as_view()),
]


@override_settings(ROOT_URLCONF=__name__)
class AsyncViewMixinTests(TestCase):
    def test_view_is_async_whatever_the_handlers(self) -> None:
        for view in (Mixed, Articles, Hello, AsyncView):
            with self.subTest(view=view.__name__):
                self.assertIs(view.view_is_async, True)
                self.assertTrue(asyncio.iscoroutinefunction(view.as_view()))

    def test_django_view_refuses_the_same_mix(self) -> None:
        class DjangoMixed(View):
            def get(self, request: Any) -> HttpResponse:
                return HttpResponse()

            async def post(self, request: Any) -> HttpResponse:
                return HttpResponse()

        with self.assertRaises(ImproperlyConfigured):
            DjangoMixed.as_view()

    async def test_sync_handler_runs_in_a_thread_and_async_handler_in_the_loop(
        self,
    ) -> None:
        loop_thread = threading.current_thread().name
        response = await self.async_client.get("/mixed/")
        self.assertEqual(response.status_code, 200)
        self.assertNotEqual(response.content.decode(), f"get in {loop_thread}")
        response = await self.async_client.post("/mixed/")
        self.assertEqual(response.content, b"post")

    async def test_head_follows_get(self) -> None:
        response = await self.async_client.head("/mixed/")
        self.assertEqual(response.status_code, 200)

    async def test_options_and_method_not_allowed(self) -> None:
        response = await self.async_client.options("/mixed/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Allow"], "GET, POST, HEAD, OPTIONS")
        response = await self.async_client.put("/mixed/")
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response.headers["Allow"], "GET, POST, HEAD, OPTIONS")

    def test_options_and_405_are_answered_without_a_thread(self) -> None:
        for method in ("put", "options"):
            with self.subTest(method=method):
                hops = cost_of(self.async_client, method, "/mixed/").hops
                self.assertFalse([hop for hop in hops if hop.startswith("View.")], hops)

    async def test_generic_list_view_with_login(self) -> None:
        await Article.objects.acreate(title="Dune")
        await Article.objects.acreate(title="Emma")
        response = await self.async_client.get("/articles/")
        self.assertEqual(response.status_code, 302)
        user = await User.objects.acreate(username="reader")
        await self.async_client.aforce_login(user)
        response = await self.async_client.get("/articles/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content.decode().split(), ["reader:", "Dune", "Emma"])

    async def test_template_view_renders_user_without_a_query(self) -> None:
        user = await User.objects.acreate(username="reader")
        await self.async_client.aforce_login(user)
        response = await self.async_client.get("/hello/")
        self.assertEqual(response.content.decode().strip(), "hello reader")

    def test_must_come_after_classes_that_define_dispatch(self) -> None:
        msg = (
            "Wrong lists AsyncViewMixin before LoginRequiredMixin, whose dispatch() "
            "AsyncViewMixin would skip. Put AsyncViewMixin after LoginRequiredMixin "
            "in Wrong's bases."
        )
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            type("Wrong", (AsyncViewMixin, LoginRequiredMixin, View), {})

    async def test_dispatch_override_before_the_mixin_still_runs(self) -> None:
        class Counting(AsyncView):
            calls = 0

            async def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
                type(self).calls += 1
                return await super().dispatch(request, *args, **kwargs)

            def get(self, request: Any) -> HttpResponse:
                return HttpResponse("ok")

        response = await Counting.as_view()(make_request())
        self.assertEqual(response.content, b"ok")
        self.assertEqual(Counting.calls, 1)

    async def test_unknown_method_is_405(self) -> None:
        request = make_request()
        request.method = "BREW"
        response = await Mixed.as_view()(request)
        self.assertEqual(response.status_code, 405)
