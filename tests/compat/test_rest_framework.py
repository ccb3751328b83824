"""``async_auth_views.rest_framework`` in DRF views (sync) and adrf views (async),
with django-guardian and django-rules deciding, under our middleware.

Every behaviour runs against the DRF view at ``/sync/...`` and the adrf view at
``/async/...``. An adrf view that queried the database in the event loop would
answer 500 (``SynchronousOnlyOperation``), so each 200, 403 and 404 below is
also a proof that it did not.
"""

from __future__ import annotations

from typing import Any, ClassVar

import rules
from adrf import generics as agenerics
from adrf import serializers as aserializers
from adrf import viewsets as aviewsets
from adrf.views import APIView as AsyncAPIView
from django.contrib.auth.models import Group, Permission
from django.http import HttpResponse
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path
from guardian.shortcuts import assign_perm
from rest_framework import generics, serializers
from rest_framework import permissions as drf
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from async_auth_views.middleware import AuthenticationMiddleware
from async_auth_views.rest_framework import (
    DjangoModelPermissions,
    DjangoModelPermissionsOrAnonReadOnly,
    DjangoObjectPermissions,
    IsAuthenticated,
)
from tests.measure import cost_of
from tests.models import Article
from tests.project import LOGIN_BACKEND, User

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
OURS = "async_auth_views.middleware.AuthenticationMiddleware"
DJANGO_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
#: The project's login backend alone (ModelBackend on the stock project).
MODEL_BACKEND_ONLY = [LOGIN_BACKEND]
KINDS = ("sync", "async")


class ReadableObjectPermissions(DjangoObjectPermissions):
    """DRF's documented way to require the view permission to read an object."""

    perms_map: ClassVar[dict[str, list[str]]] = {
        **DjangoObjectPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
    }


#: Whether the user's permission cache was loaded when the check began, by view.
CACHE_SEEN: list[bool] = []


class SeenModelPermissions(DjangoModelPermissions):
    def has_permission(self, request: Any, view: Any) -> bool:
        CACHE_SEEN.append(hasattr(request.user, "_perm_cache"))
        return super().has_permission(request, view)


class ArticleSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Article
        fields = ("id", "title", "owner")


class AsyncArticleSerializer(aserializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Article
        fields = ("id", "title", "owner")


# The views, each as a DRF view and as an adrf view --------------------------


class Whoami(APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Any) -> Response:
        return Response({"user": request.user.get_username()})


class AsyncWhoami(AsyncAPIView):  # type: ignore[misc]
    permission_classes = (IsAuthenticated,)

    async def get(self, request: Any) -> Response:
        return Response({"user": request.user.get_username()})


class Articles(generics.ListCreateAPIView):  # type: ignore[type-arg]
    queryset = Article.objects.order_by("pk")
    serializer_class = ArticleSerializer
    permission_classes = (DjangoModelPermissions,)


class AsyncArticles(agenerics.ListCreateAPIView):  # type: ignore[misc]
    queryset = Article.objects.order_by("pk")
    serializer_class = AsyncArticleSerializer
    permission_classes = (DjangoModelPermissions,)


class OpenArticles(Articles):
    permission_classes = (DjangoModelPermissionsOrAnonReadOnly,)


class AsyncOpenArticles(AsyncArticles):
    permission_classes = (DjangoModelPermissionsOrAnonReadOnly,)


class Composed(Articles):
    permission_classes = (IsAuthenticated & DjangoModelPermissions,)


class AsyncComposed(AsyncArticles):
    # adrf turns DRF's operators into its async ones (adrf #82).
    permission_classes = (IsAuthenticated & DjangoModelPermissions,)


class ArticleDetail(generics.RetrieveUpdateDestroyAPIView):  # type: ignore[type-arg]
    queryset = Article.objects.all()
    serializer_class = ArticleSerializer
    permission_classes = (ReadableObjectPermissions,)


class AsyncArticleDetail(agenerics.RetrieveUpdateDestroyAPIView):  # type: ignore[misc]
    queryset = Article.objects.all()
    serializer_class = AsyncArticleSerializer
    permission_classes = (ReadableObjectPermissions,)


class AsyncPreloaded(AsyncArticles):
    permission_classes = (SeenModelPermissions,)
    preload_permissions = True


class AsyncNotPreloaded(AsyncArticles):
    permission_classes = (SeenModelPermissions,)


class AsyncViewSet(aviewsets.ModelViewSet):  # type: ignore[misc]
    queryset = Article.objects.order_by("pk")
    serializer_class = AsyncArticleSerializer
    permission_classes = (SeenModelPermissions,)
    preload_permissions = True


class DrfOwnModelPermissions(AsyncArticles):
    permission_classes = (drf.DjangoModelPermissions,)


async def plain(request: Any) -> HttpResponse:
    return HttpResponse("plain")


router = SimpleRouter()
router.register("async/viewset", AsyncViewSet, basename="viewset")

urlpatterns = [
    path("sync/whoami/", Whoami.as_view()),
    path("async/whoami/", AsyncWhoami.as_view()),
    path("sync/articles/", Articles.as_view()),
    path("async/articles/", AsyncArticles.as_view()),
    path("sync/open/", OpenArticles.as_view()),
    path("async/open/", AsyncOpenArticles.as_view()),
    path("sync/composed/", Composed.as_view()),
    path("async/composed/", AsyncComposed.as_view()),
    path("sync/articles/<int:pk>/", ArticleDetail.as_view()),
    path("async/articles/<int:pk>/", AsyncArticleDetail.as_view()),
    path("async/preloaded/", AsyncPreloaded.as_view()),
    path("async/not-preloaded/", AsyncNotPreloaded.as_view()),
    path("async/drf-own/", DrfOwnModelPermissions.as_view()),
    path("plain/", plain),
    *router.urls,
]


def perm(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="tests", codename=codename)


@rules.predicate
def is_owner(user: Any, article: Article | None) -> bool:
    return article is not None and article.owner == user.get_username()


class RulesMixin:
    """Predicates registered for the test class only: rules' registry is global."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()  # type: ignore[misc]
        rules.set_perm("tests.add_article", rules.is_group_member("editors"))
        rules.set_perm("tests.change_article", is_owner)
        cls.addClassCleanup(rules.remove_perm, "tests.add_article")  # type: ignore[attr-defined]
        cls.addClassCleanup(rules.remove_perm, "tests.change_article")  # type: ignore[attr-defined]


@override_settings(ROOT_URLCONF=__name__)
class IsAuthenticatedTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")

    async def test_anonymous_is_refused(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                response = await self.async_client.get(f"/{kind}/whoami/")
                # SessionAuthentication sends no WWW-Authenticate: 403, as DRF.
                self.assertEqual(response.status_code, 403)

    async def test_authenticated_is_served(self) -> None:
        await self.async_client.aforce_login(self.alice)
        for kind in KINDS:
            with self.subTest(kind=kind):
                response = await self.async_client.get(f"/{kind}/whoami/")
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.json(), {"user": "alice"})


@override_settings(ROOT_URLCONF=__name__)
class ModelPermissionsTests(RulesMixin, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")
        cls.granted = User.objects.create_user("granted", password="pw")
        cls.granted.user_permissions.add(perm("add_article"))
        cls.editor = User.objects.create_user("editor", password="pw")
        cls.editor.groups.add(Group.objects.create(name="editors"))
        Article.objects.create(title="first")

    async def post(self, user: User | None, url: str) -> int:
        client = AsyncClient()
        if user is not None:
            await client.aforce_login(user)
        response = await client.post(url, {"title": "new"})
        return int(response.status_code)

    async def test_read_needs_only_a_login(self) -> None:
        await self.async_client.aforce_login(self.alice)
        for kind in KINDS:
            with self.subTest(kind=kind):
                response = await self.async_client.get(f"/{kind}/articles/")
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.json()[0]["title"], "first")

    async def test_anonymous_is_refused_even_to_read(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                response = await self.async_client.get(f"/{kind}/articles/")
                self.assertEqual(response.status_code, 403)

    async def test_create_needs_the_add_permission(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                self.assertEqual(await self.post(self.alice, f"/{kind}/articles/"), 403)
                self.assertEqual(
                    await self.post(self.granted, f"/{kind}/articles/"), 201
                )

    async def test_a_rules_predicate_grants_through_its_sync_backend(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                self.assertEqual(
                    await self.post(self.editor, f"/{kind}/articles/"), 201
                )

    async def test_anonymous_may_read_but_not_write_where_allowed(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                response = await self.async_client.get(f"/{kind}/open/")
                self.assertEqual(response.status_code, 200)
                self.assertEqual(await self.post(None, f"/{kind}/open/"), 403)

    async def test_composed_with_drf_operators(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                self.assertEqual(await self.post(None, f"/{kind}/composed/"), 403)
                self.assertEqual(await self.post(self.alice, f"/{kind}/composed/"), 403)
                self.assertEqual(
                    await self.post(self.granted, f"/{kind}/composed/"), 201
                )

    async def test_a_method_perms_map_does_not_name_is_405(self) -> None:
        await self.async_client.aforce_login(self.alice)
        for kind in KINDS:
            with self.subTest(kind=kind):
                response = await self.async_client.generic(
                    "PROPFIND", f"/{kind}/articles/"
                )
                self.assertEqual(response.status_code, 405)


@override_settings(ROOT_URLCONF=__name__)
class ObjectPermissionsTests(RulesMixin, TestCase):
    """guardian's rows and rules' predicates both decide, in one check."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")
        # As in DRF, has_permission() asks for the model permission first;
        # ModelBackend grants nothing on an object, so the object backends decide.
        cls.alice.user_permissions.add(perm("view_article"), perm("change_article"))
        cls.changeable = Article.objects.create(title="changeable")
        cls.readable = Article.objects.create(title="readable")
        cls.hidden = Article.objects.create(title="hidden")
        cls.owned = Article.objects.create(title="owned", owner="alice")
        assign_perm("tests.view_article", cls.alice, cls.changeable)
        assign_perm("tests.change_article", cls.alice, cls.changeable)
        assign_perm("tests.view_article", cls.alice, cls.readable)
        # Readable through guardian, changeable through rules' is_owner.
        assign_perm("tests.view_article", cls.alice, cls.owned)

    def setUp(self) -> None:
        self.async_client.force_login(self.alice)

    async def patch(self, kind: str, article: Article) -> int:
        response = await self.async_client.patch(
            f"/{kind}/articles/{article.pk}/",
            {"title": "changed"},
            content_type="application/json",
        )
        return int(response.status_code)

    async def test_granted_object_is_changed(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                self.assertEqual(await self.patch(kind, self.changeable), 200)

    async def test_readable_but_not_changeable_is_403(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                self.assertEqual(await self.patch(kind, self.readable), 403)
        self.assertEqual(
            (await Article.objects.aget(pk=self.readable.pk)).title, "readable"
        )

    async def test_unreadable_object_is_404_to_read_and_to_change(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                response = await self.async_client.get(
                    f"/{kind}/articles/{self.hidden.pk}/"
                )
                self.assertEqual(response.status_code, 404)
                self.assertEqual(await self.patch(kind, self.hidden), 404)

    async def test_a_hidden_object_answers_exactly_as_a_missing_one(self) -> None:
        # DRF's own DjangoObjectPermissions answers {"detail": "Not found."}
        # where get_object() answers "No Article matches the given query.".
        missing = self.hidden.pk + 1000
        # alice lacks the model-level delete permission: 403 before any lookup.
        for method, status in (("get", 404), ("patch", 404), ("delete", 403)):
            for kind in KINDS:
                with self.subTest(kind=kind, method=method):
                    answers = [
                        await self.answer(kind, method, pk)
                        for pk in (self.hidden.pk, missing)
                    ]
                    self.assertEqual(answers[0], answers[1])
                    self.assertEqual(answers[0][0], status)
        self.assertTrue(await Article.objects.filter(pk=self.hidden.pk).aexists())

    async def answer(self, kind: str, method: str, pk: int) -> tuple[Any, ...]:
        """Status, body and headers; the path, the visitor's own, left out."""
        url = f"/{kind}/articles/{pk}/"
        response = await getattr(self.async_client, method)(
            url, {"title": "changed"}, content_type="application/json"
        )
        headers = sorted(response.headers.items())
        return response.status_code, response.content, headers

    async def test_readable_object_is_served(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                response = await self.async_client.get(
                    f"/{kind}/articles/{self.readable.pk}/"
                )
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.json()["title"], "readable")

    async def test_guardian_and_rules_are_both_asked(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                self.assertEqual(await self.patch(kind, self.owned), 200)

    def test_the_check_runs_in_adrfs_hop_and_adds_none(self) -> None:
        client = AsyncClient()
        client.force_login(self.alice)
        cost = cost_of(client, "get", f"/async/articles/{self.readable.pk}/")
        self.assertEqual(cost.response.status_code, 200)
        # adrf's aget_object() runs it in a thread (adrf #74, fixed in 0.1.12).
        self.assertIn("APIView.check_object_permissions", cost.hops)
        self.assertFalse([hop for hop in cost.hops if "has_perm" in hop], cost.hops)


# With no {{ perms }} in templates, which would load the permissions of the
# plain async view used as a baseline (tests/test_templates.py).
@override_settings(
    ROOT_URLCONF=__name__, AUTHENTICATION_BACKENDS=MODEL_BACKEND_ONLY, TEMPLATES=[]
)
class CostTests(TestCase):
    """SQL statements and thread hops, counted (see docs/integrations.rst)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")
        cls.alice.user_permissions.add(perm("add_article"))

    def cost(self, path: str, middleware: list[str], method: str = "get") -> Any:
        with override_settings(MIDDLEWARE=middleware):
            client = AsyncClient()
            client.force_login(self.alice)
            cost = cost_of(client, method, path, data={"title": "new"})
        self.assertLess(cost.response.status_code, 300, cost.response.content)
        return cost

    def test_session_authentication_reads_the_eager_user_with_no_query(self) -> None:
        view = self.cost("/async/whoami/", [SESSION, OURS])
        baseline = self.cost("/plain/", [SESSION, OURS])
        # Only adrf's own hops (its initial(), DRF's render), and no statement.
        self.assertEqual(view - baseline, (0, 2))
        added = [hop for hop in view.hops if hop not in baseline.hops]
        self.assertEqual(added, ["APIView.initial", "SimpleTemplateResponse.render"])

    def test_djangos_middleware_costs_adrf_the_same(self) -> None:
        ours = self.cost("/async/whoami/", [SESSION, OURS])
        djangos = self.cost("/async/whoami/", [SESSION, DJANGO_AUTH])
        # There the lazy user is resolved in adrf's initial() hop, and Django's
        # middleware pays a hop of its own to set it.
        self.assertEqual(djangos - ours, (0, 0))
        self.assertIn("AuthenticationMiddleware.process_request", djangos.hops)

    def test_model_permissions_cost_one_statement(self) -> None:
        ours = self.cost("/async/articles/", [SESSION, OURS], "post")
        drfs = self.cost("/async/drf-own/", [SESSION, OURS], "post")
        # Session, user, permissions, then the INSERT; DRF's own class
        # loads the permissions with two statements.
        self.assertEqual(len(ours.sql), 4)
        self.assertIn(" UNION ALL ", ours.sql[2])
        self.assertEqual(len(drfs.sql), 5)
        self.assertEqual(len(ours.hops), len(drfs.hops))

    def test_a_view_that_preloads_gets_the_permissions_in_the_users_hop(self) -> None:
        CACHE_SEEN.clear()
        preloaded = self.cost("/async/preloaded/", [SESSION, OURS], "post")
        not_preloaded = self.cost("/async/not-preloaded/", [SESSION, OURS], "post")
        self.assertEqual(CACHE_SEEN, [True, False])
        self.assertEqual(preloaded - not_preloaded, (0, 0))

    def test_a_viewset_preloads_through_its_class(self) -> None:
        CACHE_SEEN.clear()
        self.cost("/async/viewset/", [SESSION, OURS], "post")
        self.assertEqual(CACHE_SEEN, [True])


class PreloadLookupTests(TestCase):
    """The middleware finds ``preload_permissions`` on DRF's and adrf's views."""

    def preloads(self, path: str) -> bool:
        from django.test import RequestFactory

        middleware = AuthenticationMiddleware(lambda request: HttpResponse())
        request = RequestFactory().get(path)
        request.urlconf = __name__  # type: ignore[attr-defined]
        return middleware.preloads_permissions(request)

    def test_api_view_class(self) -> None:
        self.assertTrue(self.preloads("/async/preloaded/"))
        self.assertFalse(self.preloads("/async/not-preloaded/"))

    def test_viewset_class(self) -> None:
        self.assertTrue(self.preloads("/async/viewset/"))
