"""django-rules' predicates through our ``PermissionRequiredMixin`` and ``permission_required``.

rules' ``ObjectPermissionBackend`` has no async methods, so Django's
``ahas_perm()`` skips it (rules#199); our check asks it through its sync
``has_perm()``, in the one thread hop the check costs.
"""

from __future__ import annotations

from typing import Any

import rules
from asgiref.sync import sync_to_async
from django.contrib.auth import decorators as django_decorators
from django.contrib.auth.models import Group, User
from django.http import HttpResponse
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path
from django.views import View

from async_auth_views.decorators import permission_required
from async_auth_views.mixins import PermissionRequiredMixin
from tests.measure import cost_of
from tests.models import Article


@rules.predicate
def is_owner(user: Any, article: Article | None) -> bool:
    return article is not None and article.owner == user.get_username()


class Publish(PermissionRequiredMixin, View):
    """A model-level rule: editors may add articles."""

    permission_required = "tests.add_article"

    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"publish as {request.user}")


class SyncPublish(Publish):
    def get(self, request: Any) -> HttpResponse:  # type: ignore[override]
        return HttpResponse(f"publish as {request.user}")


class Edit(PermissionRequiredMixin, View):
    """An object rule: owners may change their article."""

    permission_required = "tests.change_article"

    async def get_permission_object(self) -> Article:
        return await Article.objects.aget(pk=self.kwargs["pk"])

    async def get(self, request: Any, pk: int) -> HttpResponse:
        return HttpResponse(f"edit {pk} as {request.user}")


class SyncEdit(Edit):
    def get_permission_object(self) -> Article:  # type: ignore[override]
        return Article.objects.get(pk=self.kwargs["pk"])

    def get(self, request: Any, pk: int) -> HttpResponse:  # type: ignore[override]
        return HttpResponse(f"edit {pk} as {request.user}")


async def plain(request: Any) -> HttpResponse:
    return HttpResponse("plain")


@permission_required("tests.add_article")
async def publish(request: Any) -> HttpResponse:
    return HttpResponse(f"publish as {request.user}")


@permission_required("tests.add_article")
def sync_publish(request: Any) -> HttpResponse:
    return HttpResponse(f"publish as {request.user}")


@django_decorators.permission_required("tests.add_article")
async def django_publish(request: Any) -> HttpResponse:
    return HttpResponse(f"publish as {request.user}")


urlpatterns = [
    path("async/publish/", Publish.as_view()),
    path("sync/publish/", SyncPublish.as_view()),
    path("async/edit/<int:pk>/", Edit.as_view()),
    path("sync/edit/<int:pk>/", SyncEdit.as_view()),
    path("plain/", plain),
    path("async/publish-fn/", publish),
    path("sync/publish-fn/", sync_publish),
    path("django/publish-fn/", django_publish),
]
KINDS = ("sync", "async")


@override_settings(ROOT_URLCONF=__name__)
class RulesTests(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # rules' registry is global: registered for this class only.
        rules.set_perm("tests.add_article", rules.is_group_member("editors"))
        rules.set_perm("tests.change_article", is_owner)
        cls.addClassCleanup(rules.remove_perm, "tests.add_article")
        cls.addClassCleanup(rules.remove_perm, "tests.change_article")

    @classmethod
    def setUpTestData(cls) -> None:
        cls.editor = User.objects.create_user("editor", password="pw")
        cls.editor.groups.add(Group.objects.create(name="editors"))
        cls.reader = User.objects.create_user("reader", password="pw")
        cls.owned = Article.objects.create(title="owned", owner="editor")
        cls.other = Article.objects.create(title="other", owner="reader")

    async def get(self, user: User, url: str) -> Any:
        client = AsyncClient()
        await client.aforce_login(user)
        return await client.get(url)

    async def test_model_level_predicate(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                granted = await self.get(self.editor, f"/{kind}/publish/")
                self.assertEqual(granted.content, b"publish as editor")
                refused = await self.get(self.reader, f"/{kind}/publish/")
                self.assertEqual(refused.status_code, 403)

    async def test_object_predicate(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                mine = await self.get(self.editor, f"/{kind}/edit/{self.owned.pk}/")
                self.assertEqual(mine.status_code, 200)
                theirs = await self.get(self.editor, f"/{kind}/edit/{self.other.pk}/")
                self.assertEqual(theirs.status_code, 403)

    async def test_djangos_ahas_perm_skips_rules(self) -> None:
        # The upstream limit (rules#199) our check works around. When this
        # fails, rules has fixed it: update docs/integrations.rst.
        editor = await User.objects.aget(pk=self.editor.pk)
        self.assertFalse(await editor.ahas_perm("tests.change_article", self.owned))
        self.assertTrue(
            await sync_to_async(editor.has_perm)("tests.change_article", self.owned)
        )

    def test_the_sync_backend_costs_one_hop(self) -> None:
        client = AsyncClient()
        client.force_login(self.editor)
        baseline = cost_of(client, "get", "/plain/")
        for url in ["/async/publish/", f"/async/edit/{self.owned.pk}/"]:
            with self.subTest(url=url):
                cost = cost_of(client, "get", url)
                self.assertEqual(cost.response.status_code, 200)
                added = [h for h in cost.hops if h not in baseline.hops]
                # aget() of the object is Django's own hop; the check is one.
                self.assertEqual(added[-1:], ["has_perms"])
                self.assertEqual(added.count("has_perms"), 1)

    async def test_decorated_function_views(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                granted = await self.get(self.editor, f"/{kind}/publish-fn/")
                self.assertEqual(granted.content, b"publish as editor")
                refused = await self.get(self.reader, f"/{kind}/publish-fn/")
                self.assertEqual(refused.url, f"/login/?next=/{kind}/publish-fn/")

    async def test_djangos_async_decorator_refuses_what_rules_grants(self) -> None:
        # rules#199, through Django's own decorator: the editor is sent to log in.
        refused = await self.get(self.editor, "/django/publish-fn/")
        self.assertEqual(refused.status_code, 302)

    def test_the_decorator_costs_one_hop(self) -> None:
        client = AsyncClient()
        client.force_login(self.editor)
        baseline = cost_of(client, "get", "/plain/")
        cost = cost_of(client, "get", "/async/publish-fn/")
        self.assertEqual(cost.response.status_code, 200)
        added = [h for h in cost.hops if h not in baseline.hops]
        self.assertEqual(added, ["has_perms"])


@rules.predicate
def is_reviewer(user: Any) -> bool:
    return user.get_username() == "reviewer"


@permission_required("books.review")
async def review(request: Any) -> HttpResponse:
    return HttpResponse("review")


class ReviewURLs:
    """A URLconf (Django takes any object with ``urlpatterns``)."""

    urlpatterns = (path("review/", review),)


@override_settings(ROOT_URLCONF=ReviewURLs)
class RulesPermissionNamesTests(TestCase):
    """A permission rules registers is declared, though no model declares it (W004)."""

    def w003(self) -> list[str]:
        from django.core import checks

        return [m.msg for m in checks.run_checks() if m.id == "async_auth_views.W004"]

    def test_a_name_rules_registers_is_not_reported(self) -> None:
        self.assertEqual(len(self.w003()), 1)  # not registered yet
        rules.add_perm("books.review", is_reviewer)
        self.addCleanup(rules.remove_perm, "books.review")
        self.assertEqual(self.w003(), [])
