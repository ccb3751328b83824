"""django-guardian's object permissions through our ``PermissionRequiredMixin``,
on async and sync views, with every backend of a real project installed."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, User
from django.http import HttpResponse
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path
from django.views import View
from guardian.shortcuts import assign_perm

from async_auth_views.mixins import PermissionRequiredMixin
from tests.measure import cost_of
from tests.models import Article

KINDS = ("sync", "async")


class _Edit(PermissionRequiredMixin, View):
    permission_required = "tests.change_article"
    raise_exception = False


class SyncLookup(_Edit):
    def get_permission_object(self) -> Article:
        return Article.objects.get(pk=self.kwargs["pk"])


class AsyncEdit(SyncLookup):
    async def get(self, request: Any, pk: int) -> HttpResponse:
        return HttpResponse(f"edit {pk} as {request.user}")


class AsyncEditAsyncLookup(_Edit):
    async def get_permission_object(self) -> Article:
        return await Article.objects.aget(pk=self.kwargs["pk"])

    async def get(self, request: Any, pk: int) -> HttpResponse:
        return HttpResponse(f"edit {pk} as {request.user}")


class SyncEdit(SyncLookup):
    def get(self, request: Any, pk: int) -> HttpResponse:
        return HttpResponse(f"edit {pk} as {request.user}")


async def plain(request: Any) -> HttpResponse:
    return HttpResponse("plain")


urlpatterns = [
    path("sync/<int:pk>/", SyncEdit.as_view()),
    path("async/<int:pk>/", AsyncEdit.as_view()),
    path("async-lookup/<int:pk>/", AsyncEditAsyncLookup.as_view()),
    path("plain/", plain),
]
URLS = ("sync", "async", "async-lookup")


@override_settings(ROOT_URLCONF=__name__)
class ObjectPermissionTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")
        cls.mine = Article.objects.create(title="mine")
        cls.other = Article.objects.create(title="other")
        assign_perm("tests.change_article", cls.alice, cls.mine)

    def setUp(self) -> None:
        self.async_client.force_login(self.alice)

    async def test_granted_on_the_object(self) -> None:
        for url in URLS:
            with self.subTest(url=url):
                response = await self.async_client.get(f"/{url}/{self.mine.pk}/")
                self.assertEqual(response.status_code, 200)
                self.assertEqual(
                    response.content, f"edit {self.mine.pk} as alice".encode()
                )

    async def test_refused_on_another_object(self) -> None:
        for url in URLS:
            with self.subTest(url=url):
                response = await self.async_client.get(f"/{url}/{self.other.pk}/")
                self.assertEqual(response.status_code, 403)

    async def test_a_group_grant_counts(self) -> None:
        group = await Group.objects.acreate(name="writers")
        await self.alice.groups.aadd(group)
        await sync_to_async(assign_perm)("tests.change_article", group, self.other)
        for url in URLS:
            with self.subTest(url=url):
                response = await self.async_client.get(f"/{url}/{self.other.pk}/")
                self.assertEqual(response.status_code, 200)

    async def test_anonymous_is_sent_to_log_in(self) -> None:
        for url in URLS:
            with self.subTest(url=url):
                response = await AsyncClient().get(f"/{url}/{self.mine.pk}/")
                self.assertEqual(response.status_code, 302)
                self.assertTrue(response["Location"].startswith("/login/?next="))

    async def test_djangos_ahas_perm_skips_guardian(self) -> None:
        # The upstream limit our check works around (guardian#947): Django's
        # async check skips a backend without async methods. When this fails,
        # guardian has fixed it: update docs/integrations.rst.
        alice = await User.objects.aget(pk=self.alice.pk)
        self.assertFalse(await alice.ahas_perm("tests.change_article", self.mine))
        self.assertTrue(
            await sync_to_async(alice.has_perm)("tests.change_article", self.mine)
        )

    def test_lookup_and_check_cost_one_hop(self) -> None:
        client = AsyncClient()
        client.force_login(self.alice)
        baseline = cost_of(client, "get", "/plain/")
        for url, hops in [
            # the sync get_permission_object() and the check, in one thread
            ("async", ["acall_hooks.<locals>.in_thread"]),
            ("async-lookup", ["QuerySet.get", "has_perms"]),  # aget(), then the check
        ]:
            with self.subTest(url=url):
                cost = cost_of(client, "get", f"/{url}/{self.mine.pk}/")
                self.assertEqual(cost.response.status_code, 200)
                added = [h for h in cost.hops if h not in baseline.hops]
                self.assertEqual(added, hops)
