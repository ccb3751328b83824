"""The access rules through the view door, on the three kinds of view.

Each rule of ``async_auth_views.rules`` is asked through its view mixin on an
``async def`` view, an ``AsyncView`` with a sync handler and a sync view, with
hooks of both kinds; then stacked; then with django-guardian's object
permissions; then for what it costs through the whole middleware stack.
"""

from __future__ import annotations

import datetime
import time
from typing import Any
from urllib.parse import quote

from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.middleware import (
    LoginRequiredMiddleware as DjangoLoginRequiredMiddleware,
)
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import aget_object_or_404
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path
from django.utils import timezone
from django.views.generic import DetailView
from guardian.shortcuts import assign_perm

from async_auth_views import rules
from async_auth_views.middleware import LoginRequiredMiddleware
from async_auth_views.mixins import (
    AnonymousRequiredMixin,
    GroupRequiredMixin,
    LoginRequiredMixin,
    PermissionRequiredMixin,
    RecentLoginRequiredMixin,
    StaffuserRequiredMixin,
    SuperuserRequiredMixin,
    UserPassesTestMixin,
)
from async_auth_views.views import AsyncView, AsyncViewMixin

from .kinds import KINDS, make_request, respond, view_class
from .measure import cost_of, counting_hops
from .models import Article
from .project import ADD_USER, LOGIN_BACKEND, User, stock_only, user_perm_lookup

GUARDIAN_BACKENDS = [
    LOGIN_BACKEND,
    "guardian.backends.ObjectPermissionBackend",
]


def _perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


class RuleTestCase(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.editors = Group.objects.create(name="editors")
        cls.admins = Group.objects.create(name="admins")
        cls.alice = User.objects.create_user("alice", last_login=timezone.now())
        cls.alice.groups.add(cls.editors)
        cls.bob = User.objects.create_user("bob", is_staff=True)
        cls.root = User.objects.create_superuser("root", password="pw")

    async def fresh(self, user: Any) -> Any:
        """A new instance of ``user`` (no cache survives from another request)."""
        if not user.is_authenticated:
            return user
        return await User.objects.aget(pk=user.pk)

    def session_for(self, user: Any) -> Any:
        """The request's session: an authenticated user's logged in just now."""
        session = SessionStore()
        if user.is_authenticated:
            session[LOGIN_TIME] = time.time()
        return session

    async def outcome(self, view: type, user: Any, path: str = "/rand") -> Any:
        """The status, the redirect's URL, ``denied:<message>`` or ``404``."""
        request = make_request(
            await self.fresh(user), path, session=self.session_for(user)
        )
        try:
            response = await respond(view, request)
        except PermissionDenied as exc:
            return f"denied:{exc}"
        except Http404:
            return 404
        return response.url if response.status_code == 302 else response.status_code

    async def assertOutcomes(
        self, mixins: Any, expected: dict[str, Any], **attrs: Any
    ) -> None:
        """Each user's outcome on each kind of view is ``expected[username]``."""
        users = {
            "anonymous": AnonymousUser(),
            "alice": self.alice,
            "bob": self.bob,
            "root": self.root,
        }
        mixins = mixins if isinstance(mixins, tuple) else (mixins,)
        for kind in KINDS:
            view = view_class(kind, *mixins, **attrs)
            for name, wanted in expected.items():
                with self.subTest(kind=kind, user=name):
                    self.assertEqual(await self.outcome(view, users[name]), wanted)


LOGIN = "/login/?next=/rand"
#: Where the session notes when it logged in (async_auth_views.login_time).
LOGIN_TIME = "_async_auth_login_time"


class AnonymousRequiredTests(RuleTestCase):
    async def test_anonymous_pass_others_are_sent_on(self) -> None:
        await self.assertOutcomes(
            AnonymousRequiredMixin,
            {
                "anonymous": 200,
                "alice": "/accounts/profile/",
                "root": "/accounts/profile/",
            },
        )

    async def test_redirect_url_attribute_and_url_name(self) -> None:
        await self.assertOutcomes(
            AnonymousRequiredMixin,
            {"alice": "/login/"},
            authenticated_redirect_url="login-page",
        )

    async def test_redirect_url_hook_def_and_async_def(self) -> None:
        def get_url(self: Any) -> str:
            return f"/home/{self.request.user.get_username()}/"

        async def aget_url(self: Any) -> str:
            return f"/home/{self.request.user.get_username()}/"

        for hook in (get_url, aget_url):
            await self.assertOutcomes(
                AnonymousRequiredMixin,
                {"alice": "/home/alice/", "anonymous": 200},
                get_authenticated_redirect_url=hook,
            )

    @override_settings(LOGIN_REDIRECT_URL=None)
    async def test_no_redirect_url_is_a_clear_error(self) -> None:
        view = view_class("async", AnonymousRequiredMixin)
        with self.assertRaisesMessage(
            ImproperlyConfigured, "is missing the authenticated_redirect_url attribute"
        ):
            await self.outcome(view, self.alice)

    def test_exempt_from_login_required_middleware(self) -> None:
        # Else LoginRequiredMiddleware sends anonymous users from the sign-in page
        # to the sign-in page. Django's middleware reads the same mark.
        anonymous_only = view_class("sync", AnonymousRequiredMixin).as_view()
        plain = view_class("sync").as_view()
        for middleware in (LoginRequiredMiddleware, DjangoLoginRequiredMiddleware):
            with self.subTest(middleware=middleware.__name__):
                check = middleware(lambda request: None).process_view
                self.assertIsNone(check(make_request(), anonymous_only, (), {}))
                self.assertEqual(check(make_request(), plain, (), {}).status_code, 302)


class GroupRequiredTests(RuleTestCase):
    async def test_member_of_one_group_passes(self) -> None:
        for required in ("editors", ["admins", "editors"], ("editors",)):
            await self.assertOutcomes(
                GroupRequiredMixin,
                {"alice": 200, "bob": "denied:", "root": 200, "anonymous": LOGIN},
                group_required=required,
            )

    async def test_not_a_member_of_any(self) -> None:
        await self.assertOutcomes(
            GroupRequiredMixin,
            {"alice": "denied:no", "root": 200},
            group_required=["admins"],
            permission_denied_message="no",
        )

    async def test_raise_exception_for_anonymous(self) -> None:
        await self.assertOutcomes(
            GroupRequiredMixin,
            {"anonymous": "denied:"},
            group_required="editors",
            raise_exception=True,
        )

    async def test_inactive_member_is_refused(self) -> None:
        await User.objects.filter(pk=self.alice.pk).aupdate(is_active=False)
        await self.assertOutcomes(
            GroupRequiredMixin, {"alice": "denied:"}, group_required="editors"
        )

    async def test_get_group_required_def_and_async_def(self) -> None:
        def groups(self: Any) -> list[str]:
            # A plain def hook may query, on async views too.
            return list(
                Group.objects.filter(name="admins").values_list("name", flat=True)
            )

        async def agroups(self: Any) -> list[str]:
            return [g.name async for g in Group.objects.filter(name="editors")]

        await self.assertOutcomes(
            GroupRequiredMixin, {"alice": "denied:"}, get_group_required=groups
        )
        await self.assertOutcomes(
            GroupRequiredMixin, {"alice": 200}, get_group_required=agroups
        )

    async def test_missing_group_required(self) -> None:
        for kind in KINDS:
            view = view_class(kind, GroupRequiredMixin)
            with (
                self.subTest(kind=kind),
                self.assertRaisesMessage(
                    ImproperlyConfigured,
                    f"{view.__name__} is missing the group_required attribute.",
                ),
            ):
                await self.outcome(view, self.alice)

    async def test_group_given_by_object_is_a_clear_error(self) -> None:
        view = view_class("async", GroupRequiredMixin, group_required=[self.editors])
        with self.assertRaisesMessage(ImproperlyConfigured, "by its name, a str"):
            await self.outcome(view, self.alice)


class SuperuserAndStaffRequiredTests(RuleTestCase):
    async def test_superuser(self) -> None:
        await self.assertOutcomes(
            SuperuserRequiredMixin,
            {"root": 200, "alice": "denied:", "bob": "denied:", "anonymous": LOGIN},
        )

    async def test_staff(self) -> None:
        await self.assertOutcomes(
            StaffuserRequiredMixin,
            {"root": 200, "bob": 200, "alice": "denied:", "anonymous": LOGIN},
        )

    async def test_inactive_staff_is_refused(self) -> None:
        await User.objects.filter(pk=self.bob.pk).aupdate(is_active=False)
        await self.assertOutcomes(StaffuserRequiredMixin, {"bob": "denied:"})

    async def test_raise_exception(self) -> None:
        await self.assertOutcomes(
            SuperuserRequiredMixin, {"anonymous": "denied:"}, raise_exception=True
        )


class RecentLoginRequiredTests(RuleTestCase):
    """Recency is the time *this session* logged in, never the user's ``last_login``."""

    #: When each user's session logged in (seconds ago); None: it does not say.
    logged_in: dict[str, float | None]

    def setUp(self) -> None:
        self.logged_in = {"alice": 0, "bob": None, "root": 0}

    def session_for(self, user: Any) -> Any:
        session = SessionStore()
        ago = self.logged_in.get(user.get_username())
        if ago is not None:
            session[LOGIN_TIME] = time.time() - ago
        return session

    async def test_recent_passes_old_or_none_must_log_in_again(self) -> None:
        # alice's session logged in just now; bob's does not say when.
        await self.assertOutcomes(
            RecentLoginRequiredMixin, {"alice": 200, "bob": LOGIN, "anonymous": LOGIN}
        )
        self.logged_in["alice"] = 3600
        await self.assertOutcomes(RecentLoginRequiredMixin, {"alice": LOGIN})
        await self.assertOutcomes(
            RecentLoginRequiredMixin, {"alice": 200}, max_last_login_delta=7200
        )
        await self.assertOutcomes(
            RecentLoginRequiredMixin,
            {"alice": 200},
            max_last_login_delta=datetime.timedelta(hours=2),
        )

    async def test_the_users_last_login_is_not_the_sessions(self) -> None:
        # bob logged in just now on another device: this session stays old.
        await User.objects.filter(pk=self.bob.pk).aupdate(last_login=timezone.now())
        self.logged_in["bob"] = 7200
        await self.assertOutcomes(RecentLoginRequiredMixin, {"bob": LOGIN})
        self.logged_in["bob"] = None
        await self.assertOutcomes(RecentLoginRequiredMixin, {"bob": LOGIN})

    async def test_a_time_that_is_no_time_is_not_recent(self) -> None:
        for value in ("now", True, float("nan"), float("inf"), [1], None):
            session = SessionStore()
            session[LOGIN_TIME] = value
            self.session_for = lambda user, session=session: session  # type: ignore[method-assign]
            with self.subTest(value=value):
                await self.assertOutcomes(RecentLoginRequiredMixin, {"alice": LOGIN})

    async def test_a_clock_slightly_ahead_counts_as_now(self) -> None:
        self.logged_in["alice"] = -2  # another server's clock, two seconds ahead
        await self.assertOutcomes(RecentLoginRequiredMixin, {"alice": 200})

    async def test_raise_exception(self) -> None:
        await self.assertOutcomes(
            RecentLoginRequiredMixin,
            {"bob": "denied:", "anonymous": "denied:"},
            raise_exception=True,
        )

    async def test_max_last_login_delta_must_be_seconds(self) -> None:
        view = view_class("async", RecentLoginRequiredMixin, max_last_login_delta="1h")
        with self.assertRaisesMessage(ImproperlyConfigured, "number of seconds"):
            await self.outcome(view, self.alice)

    async def test_no_session_is_a_clear_error(self) -> None:
        self.session_for = lambda user: None  # type: ignore[method-assign]
        view = view_class("async", RecentLoginRequiredMixin)
        with self.assertRaisesMessage(ImproperlyConfigured, "has no session"):
            await self.outcome(view, self.alice)


class Recent(RecentLoginRequiredMixin, AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"recent {request.user}")


class Whoami(AsyncView):
    def get(self, request: Any) -> HttpResponse:  # in a thread: under WSGI too
        return HttpResponse(f"{request.user}")


class Public(AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"{request.user}")


class Editors(GroupRequiredMixin, AsyncView):
    group_required = "editors"

    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("editors")


class Staff(StaffuserRequiredMixin, AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("staff")


class Superuser(SuperuserRequiredMixin, AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("superuser")


class Anonymous(AnonymousRequiredMixin, AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("anonymous")


class Login(LoginRequiredMixin, AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("login")


class Perm(PermissionRequiredMixin, AsyncView):
    permission_required = ADD_USER

    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("perm")


class PassesTest(UserPassesTestMixin, AsyncView):
    async def test_func(self) -> bool:
        return self.request.user.get_username() == "alice"

    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("test")


class HiddenArticle(PermissionRequiredMixin, AsyncViewMixin, DetailView):  # type: ignore[type-arg]
    """``return_404``: the permission object is the one the view shows."""

    model = Article
    permission_required = "tests.change_article"
    return_404 = True

    def get_permission_object(self) -> Any:
        return self.get_object()

    def get(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse(f"article {self.get_object()}")


class AsyncHiddenArticle(HiddenArticle):
    async def get_permission_object(self) -> Any:  # type: ignore[override]
        return await aget_object_or_404(Article, pk=self.kwargs["pk"])


class SyncHiddenArticle(PermissionRequiredMixin, DetailView):  # type: ignore[type-arg]
    model = Article
    permission_required = "tests.change_article"
    return_404 = True

    def get_permission_object(self) -> Any:
        return self.get_object()

    def get(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse(f"article {self.get_object()}")


urlpatterns = [
    path("hidden/<int:pk>/", HiddenArticle.as_view()),
    path("async-hidden/<int:pk>/", AsyncHiddenArticle.as_view()),
    path("sync-hidden/<int:pk>/", SyncHiddenArticle.as_view()),
    path("login/", Whoami.as_view()),
    path("recent/", Recent.as_view()),
    path("whoami/", Whoami.as_view()),
    path("public/", Public.as_view()),
    path("editors/", Editors.as_view()),
    path("staff/", Staff.as_view()),
    path("superuser/", Superuser.as_view()),
    path("anonymous/", Anonymous.as_view()),
    path("login-required/", Login.as_view()),
    path("perm/", Perm.as_view()),
    path("test/", PassesTest.as_view()),
]


@override_settings(ROOT_URLCONF=__name__)
class RecentLoginThroughTheStackTests(RuleTestCase):
    def test_logging_in_again_lets_the_user_through(self) -> None:
        self.client.force_login(self.alice)
        session = self.client.session
        session[LOGIN_TIME] -= 2 * 3600
        session.save()
        response = self.client.get("/recent/?x=1")
        self.assertRedirects(
            response, "/login/?next=/recent/%3Fx%3D1", fetch_redirect_response=False
        )
        # The session was kept: still alice.
        self.assertEqual(self.client.get("/whoami/").content, b"alice")
        self.client.force_login(self.alice)  # notes the session's login time
        self.assertEqual(self.client.get("/recent/").content, b"recent alice")


class StackedRuleTests(RuleTestCase):
    """The new rules stack with each other and with Django's, in any order."""

    async def test_every_order(self) -> None:
        # Each stack in two orders, with who gets what.
        stacks = [
            (
                (GroupRequiredMixin, StaffuserRequiredMixin),
                {"alice": "denied:", "bob": 200, "root": 200},
            ),
            (
                (LoginRequiredMixin, RecentLoginRequiredMixin, GroupRequiredMixin),
                {"alice": 200, "bob": 200},
            ),
            (
                (PermissionRequiredMixin, SuperuserRequiredMixin),
                {"root": 200, "alice": "denied:"},
            ),
        ]
        await User.objects.filter(pk=self.bob.pk).aupdate(last_login=timezone.now())
        await sync_to_async(self.bob.groups.add)(self.editors)
        for stack, expected in stacks:
            for order in (stack, stack[::-1]):
                await self.assertOutcomes(
                    order,
                    {**expected, "anonymous": LOGIN},
                    group_required="editors",
                    permission_required=ADD_USER,
                )

    async def test_anonymous_only_with_raise_exception_is_still_a_redirect(
        self,
    ) -> None:
        await self.assertOutcomes(
            AnonymousRequiredMixin,
            {"alice": "/accounts/profile/"},
            raise_exception=True,
        )


@override_settings(AUTHENTICATION_BACKENDS=GUARDIAN_BACKENDS)
class GuardianObjectPermissionTests(RuleTestCase):
    """django-guardian's any_perm, accept_global_perms and return_404, for real."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.dune = Article.objects.create(title="Dune")
        cls.emma = Article.objects.create(title="Emma")
        assign_perm("tests.change_article", cls.alice, cls.dune)
        cls.bob.user_permissions.add(_perm("change_article"))  # model-level only

    def views(self, article: Article, hook: str, **attrs: Any) -> list[type]:
        async def aget_object(self: Any) -> Article:
            return await Article.objects.aget(pk=article.pk)

        def get_object(self: Any) -> Article:
            return Article.objects.get(pk=article.pk)

        getter = aget_object if hook == "async" else get_object
        attrs.setdefault("permission_required", "tests.change_article")
        return [
            view_class(
                kind, PermissionRequiredMixin, get_permission_object=getter, **attrs
            )
            for kind in KINDS
        ]

    async def assertSeen(
        self, article: Article, expected: dict[str, Any], **attrs: Any
    ) -> None:
        users = {"alice": self.alice, "bob": self.bob, "anonymous": AnonymousUser()}
        for hook in ("def", "async"):
            for view in self.views(article, hook, **attrs):
                for name, wanted in expected.items():
                    with self.subTest(
                        view=view.__name__, hook=hook, user=name, **attrs
                    ):
                        self.assertEqual(await self.outcome(view, users[name]), wanted)

    async def test_object_permission(self) -> None:
        await self.assertSeen(
            self.dune, {"alice": 200, "bob": "denied:", "anonymous": LOGIN}
        )
        await self.assertSeen(self.emma, {"alice": "denied:"})

    async def test_accept_global_perms(self) -> None:
        await self.assertSeen(
            self.emma, {"bob": 200, "alice": "denied:"}, accept_global_perms=True
        )
        await self.assertSeen(self.dune, {"alice": 200}, accept_global_perms=True)

    async def test_any_perm(self) -> None:
        both = ["tests.change_article", "tests.delete_article"]
        await self.assertSeen(self.dune, {"alice": "denied:"}, permission_required=both)
        await self.assertSeen(
            self.dune, {"alice": 200}, permission_required=both, any_perm=True
        )
        await self.assertSeen(
            self.emma,
            {"bob": 200, "alice": "denied:"},
            permission_required=both,
            any_perm=True,
            accept_global_perms=True,
        )

    async def test_return_404(self) -> None:
        await self.assertSeen(
            self.emma, {"alice": 404, "anonymous": LOGIN}, return_404=True
        )
        await self.assertSeen(self.dune, {"alice": 200}, return_404=True)
        await self.assertSeen(
            self.emma, {"anonymous": "denied:"}, return_404=True, raise_exception=True
        )


#: A 404 page that shows Django's exception message, as many projects' do.
NOT_FOUND_TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {"404.html": "Not found: {{ exception }} ({{ request_path }})"},
                )
            ]
        },
    }
]


@override_settings(
    ROOT_URLCONF=__name__,
    AUTHENTICATION_BACKENDS=GUARDIAN_BACKENDS,
    TEMPLATES=NOT_FOUND_TEMPLATES,
)
class HiddenObjectTests(RuleTestCase):
    """``return_404``: an object the user may not see answers as a missing one.

    Both are requested through the whole stack, as alice (who may change
    ``dune`` only) and anonymously; the answers differ only by the path.
    """

    PATHS = ("/hidden/", "/async-hidden/", "/sync-hidden/")

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.dune = Article.objects.create(title="Dune")
        cls.emma = Article.objects.create(title="Emma")
        cls.missing = cls.emma.pk + 1000
        assign_perm("tests.change_article", cls.alice, cls.dune)

    def answer(self, client: Any, url: str, pk: int) -> tuple[int, str, list[Any]]:
        path_ = f"{url}{pk}/"
        if isinstance(client, AsyncClient):
            response = async_to_sync(client.get)(path_)
        else:
            response = client.get(path_)
        # The path is the only difference allowed: it is the visitor's own.
        body = response.content.decode().replace(path_, "<path>")
        headers = sorted(
            (name, value.replace(path_, "<path>").replace(quote(path_), "<path>"))
            for name, value in response.headers.items()
        )
        return response.status_code, body, headers

    def assert_same_answer(self) -> list[tuple[int, str, list[Any]]]:
        """The answers for the hidden object, each checked equal to the missing one's."""
        answers = []
        for client in (self.client, self.async_client):
            for url in self.PATHS:
                with self.subTest(client=type(client).__name__, url=url):
                    hidden = self.answer(client, url, self.emma.pk)
                    missing = self.answer(client, url, self.missing)
                    self.assertEqual(hidden, missing)
                    answers.append(hidden)
        return answers

    def test_a_hidden_object_answers_as_a_missing_one(self) -> None:
        self.client.force_login(self.alice)
        self.async_client.force_login(self.alice)
        for status, _, _ in self.assert_same_answer():
            self.assertEqual(status, 404)
        self.assertEqual(
            self.client.get(f"/hidden/{self.dune.pk}/").content, b"article Dune"
        )

    def test_anonymous_visitors_are_sent_to_log_in_for_both(self) -> None:
        for status, _, headers in self.assert_same_answer():
            self.assertEqual(status, 302)
            self.assertIn(("Location", "/login/?next=<path>"), headers)

    def test_with_raise_exception_both_are_403(self) -> None:
        for view in (HiddenArticle, AsyncHiddenArticle, SyncHiddenArticle):
            view.raise_exception = True
            self.addCleanup(setattr, view, "raise_exception", False)
        for status, _, _ in self.assert_same_answer():
            self.assertEqual(status, 403)


# Each rule's own cost: with no {{ perms }} in templates, which would load every
# async handler's permissions with its user (tests/test_templates.py).
@override_settings(ROOT_URLCONF=__name__, TEMPLATES=[])
class CostPerRuleTests(RuleTestCase):
    """SQL statements and thread hops each rule adds on an async view, through
    the whole stack (compared with an unprotected view for the same user)."""

    def cost(self, user: Any, url: str) -> tuple[int, int]:
        self.async_client.logout()
        if user is not None:
            self.async_client.force_login(user)
        baseline = cost_of(self.async_client, "get", "/public/")
        cost = cost_of(self.async_client, "get", url)
        self.assertEqual((url, cost.response.status_code), (url, 200))
        return cost - baseline

    @stock_only
    def test_counts(self) -> None:
        self.alice.user_permissions.add(
            Permission.objects.get(**user_perm_lookup("add"))
        )
        expected = {
            # path: (user, (extra SQL, extra hops))
            "/login-required/": (self.alice, (0, 0)),
            "/anonymous/": (None, (0, 0)),
            "/staff/": (self.bob, (0, 0)),
            "/superuser/": (self.root, (0, 0)),
            "/recent/": (self.alice, (0, 0)),
            "/editors/": (self.alice, (1, 0)),  # the group names, in the user's hop
            "/perm/": (self.alice, (1, 0)),  # the permissions, in the user's hop
            "/test/": (self.alice, (0, 0)),  # an async test_func
        }
        for url, (user, counts) in expected.items():
            with self.subTest(url=url):
                self.assertEqual(self.cost(user, url), counts)

    def test_group_check_without_preload_costs_one_hop(self) -> None:
        Editors.preload_groups = False
        try:
            self.assertEqual(self.cost(self.alice, "/editors/"), (1, 1))
        finally:
            Editors.preload_groups = True


class RulesWithoutADoorTests(RuleTestCase):
    """A rule asked directly, as a new door would ask it."""

    def test_owner_with_hooks(self) -> None:
        class Owner(rules.GroupHooks):
            group_required = "editors"

        alice, bob = self.alice, self.bob
        self.assertIsNone(rules.group_rule.check(Owner(), alice))
        self.assertIs(rules.group_rule.check(Owner(), bob), rules.Denial.FORBIDDEN)
        self.assertIs(
            rules.group_rule.check(Owner(), AnonymousUser()), rules.Denial.LOGIN
        )


class OneHopPerCheckTests(RuleTestCase):
    """The plain def hooks of one check share one thread hop with the decision."""

    async def hops(self, view: type, user: Any) -> list[str]:
        request = make_request(await self.fresh(user))
        with counting_hops() as hops:
            response = await respond(view, request)
        self.assertEqual(response.status_code, 200)
        return hops

    async def test_permission_hooks(self) -> None:
        def perms(self: Any) -> list[str]:
            Permission.objects.filter(codename="add_user").exists()  # a query
            return [ADD_USER]

        def obj(self: Any) -> None:
            return None

        async def aobj(self: Any) -> None:
            return None

        await sync_to_async(self.alice.user_permissions.add)(
            await Permission.objects.aget(**user_perm_lookup("add"))
        )
        for getter in (obj, aobj):
            with self.subTest(getter=getter.__name__):
                view = view_class(
                    "async",
                    PermissionRequiredMixin,
                    get_permission_required=perms,
                    get_permission_object=getter,
                )
                self.assertEqual(len(await self.hops(view, self.alice)), 1)

    async def test_group_hook_and_membership(self) -> None:
        def groups(self: Any) -> list[str]:
            return list(Group.objects.values_list("name", flat=True))

        view = view_class("async", GroupRequiredMixin, get_group_required=groups)
        self.assertEqual(len(await self.hops(view, self.alice)), 1)

    async def test_get_test_func_and_its_test(self) -> None:
        def get_test_func(self: Any) -> Any:
            User.objects.exists()
            return lambda: User.objects.filter(username="alice").exists()

        view = view_class("async", UserPassesTestMixin, get_test_func=get_test_func)
        self.assertEqual(len(await self.hops(view, self.alice)), 1)
