"""Tests for ``async_auth_views.templates``: ``{{ perms }}`` in the templates of async views.

With Django's default ``TEMPLATES`` (those of ``startproject``, read from
Django itself), a template rendered with ``render()`` in an ``async def``
handler reads ``{{ perms }}`` in the event loop, where a query raises
``SynchronousOnlyOperation``. Each view kind is requested on the async path
(``AsyncClient``) and the sync path (``Client``, where Django runs an async
view in an event loop of its own), with the identity cache off (the default)
and on, for users with and without permissions, a superuser and an anonymous
user; then what it costs.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import django
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import caches
from django.http import HttpResponse
from django.shortcuts import render
from django.test import AsyncClient, Client, TestCase, override_settings
from django.urls import path
from django.views import View

from async_auth_views.decorators import login_required
from async_auth_views.mixins import LoginRequiredMixin
from async_auth_views.views import AsyncView

from .measure import cost_of


def startproject_templates() -> list[dict[str, Any]]:
    """The ``TEMPLATES`` setting of a project made by ``django-admin startproject``."""
    template = Path(django.__file__).parent.joinpath(
        "conf", "project_template", "project_name", "settings.py-tpl"
    )
    for node in ast.parse(template.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == (
            "TEMPLATES"
        ):
            templates: list[dict[str, Any]] = ast.literal_eval(node.value)
            return templates
    raise AssertionError(f"No TEMPLATES in {template}")


TEMPLATES = startproject_templates()
WITHOUT_AUTH_PROCESSOR = [
    {
        **TEMPLATES[0],
        "OPTIONS": {
            "context_processors": [
                p
                for p in TEMPLATES[0]["OPTIONS"]["context_processors"]
                if p != "django.contrib.auth.context_processors.auth"
            ]
        },
    }
]
PAGE = "tests/perms.html"


async def async_function(request: Any) -> HttpResponse:
    return render(request, PAGE)


def sync_function(request: Any) -> HttpResponse:
    return render(request, PAGE)


class AsyncHandler(View):
    async def get(self, request: Any) -> HttpResponse:
        return render(request, PAGE)


class AsyncViewAsyncHandler(AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return render(request, PAGE)


class AsyncViewSyncHandler(AsyncView):
    def get(self, request: Any) -> HttpResponse:
        return render(request, PAGE)


class Guarded(LoginRequiredMixin, AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return render(request, PAGE)


@login_required
async def guarded_function(request: Any) -> HttpResponse:
    return render(request, PAGE)


class NoPerms(AsyncView):
    """Says it reads no permission: nothing is loaded for it."""

    preload_permissions = False

    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"{request.user}")


class PlainAsync(AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"{request.user}")


urlpatterns = [
    path("async-function/", async_function),
    path("sync-function/", sync_function),
    path("async-handler/", AsyncHandler.as_view()),
    path("asyncview-async-handler/", AsyncViewAsyncHandler.as_view()),
    path("asyncview-sync-handler/", AsyncViewSyncHandler.as_view()),
    path("guarded/", Guarded.as_view()),
    path("guarded-function/", guarded_function),
    path("no-perms/", NoPerms.as_view()),
    path("plain-async/", PlainAsync.as_view()),
    path("login/", sync_function),
]

PAGES = [
    "/async-function/",
    "/async-handler/",
    "/asyncview-async-handler/",
    "/asyncview-sync-handler/",
    "/sync-function/",
    "/guarded/",
    "/guarded-function/",
]
EXPECTED = {
    "alice": "alice: add_user=True auth=yes change_user",
    "bob": "bob: add_user=False auth=no",
    "root": "root: add_user=True auth=yes change_user",
    None: "AnonymousUser: add_user=False auth=no",
}
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
CACHES = {
    "default": {**LOCMEM, "LOCATION": "default"},
    "identity": {**LOCMEM, "LOCATION": "identity"},
}


def get(client: Client | AsyncClient, url: str) -> Any:
    if isinstance(client, AsyncClient):
        return async_to_sync(client.get)(url)
    return client.get(url)


@override_settings(ROOT_URLCONF=__name__, TEMPLATES=TEMPLATES)
class PermsInTemplatesTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        editors = Group.objects.create(name="editors")
        editors.permissions.add(Permission.objects.get(codename="change_user"))
        cls.alice = User.objects.create_user("alice")
        cls.alice.user_permissions.add(Permission.objects.get(codename="add_user"))
        cls.alice.groups.add(editors)
        cls.bob = User.objects.create_user("bob")
        cls.root = User.objects.create_superuser("root")

    def assert_pages(self) -> None:
        for name in EXPECTED:
            for client in (AsyncClient(), Client()):
                if name is not None:
                    client.force_login(getattr(self, name))
                for url in PAGES:
                    if name is None and "guarded" in url:
                        continue
                    with self.subTest(user=name, client=type(client).__name__, url=url):
                        response = get(client, url)
                        self.assertEqual(response.status_code, 200)
                        self.assertEqual(
                            response.content.decode().strip(), EXPECTED[name]
                        )

    def test_perms_in_every_views_template_with_the_default_settings(self) -> None:
        self.assert_pages()

    def test_a_head_request_is_answered_by_the_get_handler(self) -> None:
        # Django's View answers HEAD with get() when it has no head().
        for client in (AsyncClient(), Client()):
            client.force_login(self.alice)
            for url in PAGES:
                with self.subTest(client=type(client).__name__, url=url):
                    if isinstance(client, AsyncClient):
                        response = async_to_sync(client.head)(url)
                    else:
                        response = client.head(url)
                    self.assertEqual(response.status_code, 200)

    @override_settings(CACHES=CACHES, ASYNC_AUTH_IDENTITY_CACHE="identity")
    def test_the_same_with_the_identity_cache(self) -> None:
        caches["identity"].clear()
        self.assert_pages()
        self.assert_pages()  # hits


@override_settings(ROOT_URLCONF=__name__, TEMPLATES=TEMPLATES)
class CostTests(TestCase):
    """What ``{{ perms }}`` costs (docs/middleware.rst), counted through the stack."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")
        cls.alice.user_permissions.add(Permission.objects.get(codename="add_user"))
        cls.root = User.objects.create_superuser("root")

    def cost(self, url: str, user: Any = None) -> Any:
        client = AsyncClient()
        if user is not None:
            client.force_login(user)
        cost = cost_of(client, "get", url)
        self.assertEqual(cost.response.status_code, 200, url)
        return cost

    def test_an_async_handler_gets_the_permissions_in_the_users_hop(self) -> None:
        page = self.cost("/async-function/", self.alice)
        # The session, the user, then the permissions in one statement.
        self.assertEqual(len(page.sql), 3)
        self.assertIn(" UNION ALL ", page.sql[2])
        self.assertEqual(page - self.cost("/no-perms/", self.alice), (1, 0))
        self.assertEqual(page - self.cost("/plain-async/", self.alice), (0, 0))

    def test_a_sync_handler_reads_them_in_its_thread_as_django_does(self) -> None:
        # ModelBackend's two statements, only when the template reads them.
        self.assertEqual(len(self.cost("/asyncview-sync-handler/", self.alice).sql), 4)
        self.assertEqual(len(self.cost("/sync-function/", self.alice).sql), 4)

    def test_anonymous_users_and_superusers_cost_nothing_more(self) -> None:
        self.assertEqual(self.cost("/async-function/").sql, [])
        self.assertEqual(len(self.cost("/async-function/", self.root).sql), 2)

    @override_settings(TEMPLATES=WITHOUT_AUTH_PROCESSOR)
    def test_without_the_auth_context_processor_nothing_is_loaded(self) -> None:
        self.assertEqual(len(self.cost("/plain-async/", self.alice).sql), 2)

    @override_settings(CACHES=CACHES, ASYNC_AUTH_IDENTITY_CACHE="identity")
    def test_an_identity_cache_hit_costs_nothing(self) -> None:
        caches["identity"].clear()
        client = AsyncClient()
        client.force_login(self.alice)
        miss = cost_of(client, "get", "/async-function/")  # fills the entry
        hit = cost_of(client, "get", "/async-function/")
        self.assertEqual((miss.response.status_code, len(miss.sql)), (200, 3))
        self.assertEqual((hit.response.status_code, hit.sql), (200, []))
