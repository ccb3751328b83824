"""The function-view decorators, on sync and async views, against Django's own.

Each behaviour is checked on a plain ``def`` view (called in a thread, as
Django's handler calls it under ASGI) and an ``async def`` view; where Django's
decorators behave the same, the answer is compared with theirs. Django's own
tests for its decorators run against these too (scripts/django_auth_tests.sh).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
from django.contrib.auth import decorators as django_decorators
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpResponse
from django.test import TestCase, override_settings
from django.urls import path
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import SimpleLazyObject
from django.views import View
from guardian.shortcuts import assign_perm

from async_auth_views.decorators import (
    anonymous_required,
    group_required,
    login_not_required,
    login_required,
    permission_required,
    recent_login_required,
    staffuser_required,
    superuser_required,
    user_passes_test,
)
from async_auth_views.views import AsyncView

from .kinds import make_request
from .measure import cost_of
from .models import Article
from .shapes import RUNS, TEST_FUNC_SHAPES

KINDS = ("sync", "async")
LOGIN = "/login/?next=/rand"
#: Where the session notes when it logged in (async_auth_views.login_time).
LOGIN_TIME = "_async_auth_login_time"
GUARDIAN_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]


def _view(kind: str) -> Callable[..., Any]:
    if kind == "async":

        async def async_view(request: Any) -> HttpResponse:
            return HttpResponse(f"served {request.user}")

        return async_view

    def sync_view(request: Any) -> HttpResponse:
        return HttpResponse(f"served {request.user}")

    return sync_view


async def call(view: Callable[..., Any], request: Any) -> Any:
    """Call ``view`` as Django's handler would: awaited, or in a thread when sync."""
    if iscoroutinefunction(view):
        return await view(request)
    return await sync_to_async(view)(request)


class DecoratorTestCase(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.editors = Group.objects.create(name="editors")
        cls.alice = User.objects.create_user("alice", last_login=timezone.now())
        cls.alice.user_permissions.add(
            *Permission.objects.filter(codename__in=("add_user", "change_user"))
        )
        cls.alice.groups.add(cls.editors)
        cls.bob = User.objects.create_user("bob", is_staff=True)
        cls.root = User.objects.create_superuser("root", password="pw")

    async def fresh(self, user: Any) -> Any:
        """A new instance of ``user`` (no cache survives from another request)."""
        if user is None or not user.is_authenticated:
            return AnonymousUser()
        return await User.objects.aget(pk=user.pk)

    #: When each user's session logged in (seconds ago); None: it does not say.
    logged_in: ClassVar[dict[str, float | None]] = {}

    def session_for(self, user: Any) -> Any:
        """The request's session; an authenticated user's logged in just now."""
        session = SessionStore()
        if user.is_authenticated:
            ago = self.logged_in.get(user.get_username(), 0)
            if ago is not None:
                session[LOGIN_TIME] = time.time() - ago
        return session

    async def outcome(
        self, decorator: Callable[..., Any], kind: str, user: Any, path: str = "/rand"
    ) -> Any:
        """200, the redirect's URL, or ``"denied"``."""
        view = decorator(_view(kind))
        user = await self.fresh(user)
        request = make_request(user, path, session=self.session_for(user))
        try:
            response = await call(view, request)
        except PermissionDenied:
            return "denied"
        return response.url if response.status_code == 302 else response.status_code

    async def assertOutcomes(
        self, decorator: Callable[..., Any], expected: dict[str, Any]
    ) -> None:
        users = {
            "anonymous": None,
            "alice": self.alice,
            "bob": self.bob,
            "root": self.root,
        }
        for kind in KINDS:
            for name, wanted in expected.items():
                with self.subTest(kind=kind, user=name):
                    outcome = await self.outcome(decorator, kind, users[name])
                    self.assertEqual(outcome, wanted)


class KindTests(TestCase):
    """The wrapped view keeps its kind, chosen once at decoration."""

    DECORATORS: tuple[Callable[..., Any], ...] = (
        login_required,
        login_required(login_url="/x/"),
        permission_required("auth.add_user"),
        user_passes_test(lambda user: True),
        group_required("editors"),
        superuser_required,
        staffuser_required(raise_exception=True),
        recent_login_required,
        anonymous_required,
    )

    def test_sync_stays_sync_and_async_stays_async(self) -> None:
        for decorator in self.DECORATORS:
            with self.subTest(decorator=decorator):
                self.assertFalse(iscoroutinefunction(decorator(_view("sync"))))
                wrapped = decorator(_view("async"))
                self.assertTrue(inspect.iscoroutinefunction(wrapped))
                self.assertTrue(iscoroutinefunction(wrapped))

    def test_metadata_is_kept(self) -> None:
        def my_view(request: Any) -> HttpResponse:
            """The docstring."""
            return HttpResponse()

        my_view.custom = "kept"  # type: ignore[attr-defined]
        wrapped = login_required(my_view)
        self.assertEqual(wrapped.__name__, "my_view")
        self.assertEqual(wrapped.__doc__, "The docstring.")
        self.assertEqual(wrapped.custom, "kept")
        self.assertIs(wrapped.__wrapped__, my_view)

    async def test_async_callable_object_becomes_a_coroutine_function(self) -> None:
        """Django's decorators take it for sync; its coroutine would be truthy."""

        class AsyncCallableView:
            async def __call__(self, request: Any) -> HttpResponse:
                return HttpResponse("object")

        wrapped = login_required(AsyncCallableView())
        self.assertTrue(iscoroutinefunction(wrapped))
        response = await wrapped(make_request())
        self.assertEqual(response.url, LOGIN)

    def test_login_not_required_is_djangos(self) -> None:
        self.assertIs(login_not_required, django_decorators.login_not_required)


class LoginRequiredTests(DecoratorTestCase):
    async def test_anonymous_redirected_authenticated_served(self) -> None:
        await self.assertOutcomes(login_required, {"anonymous": LOGIN, "bob": 200})

    async def test_view_not_run_for_anonymous(self) -> None:
        ran: list[str] = []

        def sync_view(request: Any) -> HttpResponse:
            ran.append("sync")
            return HttpResponse()

        async def async_view(request: Any) -> HttpResponse:
            ran.append("async")
            return HttpResponse()

        for view in (sync_view, async_view):
            response = await call(login_required(view), make_request())
            self.assertEqual(response.status_code, 302)
        self.assertEqual(ran, [])

    async def test_next_is_built_exactly_as_djangos_decorators_build_it(self) -> None:
        cases: list[tuple[dict[str, Any], str]] = [
            ({}, "/rand?a=1&b=2"),
            ({"login_url": "/accounts/in/"}, "/rand"),
            ({"login_url": "https://auth.example.com/login"}, "/rand?x=1"),
            ({"login_url": "http://testserver/login/"}, "/rand"),
            ({"login_url": "//testserver/login/"}, "/rand"),
            ({"login_url": "login-page"}, "/rand"),
            ({"redirect_field_name": "goto"}, "/rand"),
            ({"redirect_field_name": None}, "/rand"),
            ({"login_url": "/in/?lang=fr"}, "/rand?q=%C3%A9"),
        ]
        for kwargs, path_ in cases:
            for kind in KINDS:
                with self.subTest(kind=kind, path=path_, **kwargs):
                    ours = await call(
                        login_required(_view(kind), **kwargs), make_request(path=path_)
                    )
                    django = await call(
                        django_decorators.login_required(_view(kind), **kwargs),
                        make_request(path=path_),
                    )
                    self.assertEqual(ours.status_code, 302)
                    self.assertEqual(ours.url, django.url)

    async def test_lazy_user_resolved_before_the_check(self) -> None:
        # request.user decides, as under Django; a lazy one is read in a thread.
        alice = self.alice
        request = make_request()
        request.user = SimpleLazyObject(lambda: alice)
        response = await call(login_required(_view("async")), request)
        self.assertEqual(response.content, b"served alice")
        self.assertIs(request.user, alice)

    async def test_request_with_only_auser_is_judged_by_it(self) -> None:
        # How Django's own decorator tests build an async request.
        alice = self.alice
        for user, expected in ((alice, 200), (AnonymousUser(), 302)):
            request = make_request()
            del request.user

            async def auser(user: Any = user) -> Any:
                return user

            async def view(request: Any) -> HttpResponse:
                return HttpResponse()

            request.auser = auser
            with self.subTest(user=user):
                response = await call(login_required(view), request)
                self.assertEqual(response.status_code, expected)

    async def test_without_auth_middleware_is_a_clear_error(self) -> None:
        request = make_request()
        del request.user, request.auser
        for kind in KINDS:
            with (
                self.subTest(kind=kind),
                self.assertRaisesMessage(
                    ImproperlyConfigured, "AuthenticationMiddleware"
                ),
            ):
                await call(login_required(_view(kind)), request)

    @override_settings(LOGIN_URL=None)
    async def test_missing_login_url_is_a_clear_error(self) -> None:
        for kind in KINDS:
            with (
                self.subTest(kind=kind),
                self.assertRaisesMessage(ImproperlyConfigured, "settings.LOGIN_URL"),
            ):
                await call(login_required(_view(kind)), make_request())

    def test_sets_the_attributes_login_required_middleware_reads(self) -> None:
        for kind in KINDS:
            view = login_required(_view(kind), "to", "/elsewhere/")
            self.assertEqual(
                (view.login_url, view.redirect_field_name), ("/elsewhere/", "to")
            )
            plain = login_required(_view(kind))
            self.assertEqual(
                (plain.login_url, plain.redirect_field_name), (None, "next")
            )


class PermissionRequiredTests(DecoratorTestCase):
    async def test_all_permissions_required(self) -> None:
        await self.assertOutcomes(
            permission_required(["auth.add_user", "auth.change_user"]),
            {"alice": 200, "root": 200, "bob": LOGIN, "anonymous": LOGIN},
        )
        await self.assertOutcomes(
            permission_required(["auth.add_user", "auth.delete_user"]),
            {"alice": LOGIN, "root": 200},
        )

    async def test_one_permission_a_set_and_a_generator(self) -> None:
        for perms in (
            "auth.add_user",
            {"auth.add_user", "auth.change_user"},
            (p for p in ("auth.add_user", "auth.change_user")),
        ):
            decorator = permission_required(perms)
            # The generator is read once, at decoration: every request sees it all.
            await self.assertOutcomes(decorator, {"alice": 200, "bob": LOGIN})

    async def test_raise_exception_gives_403_to_everyone_refused(self) -> None:
        await self.assertOutcomes(
            permission_required("auth.delete_user", raise_exception=True),
            {"alice": "denied", "anonymous": "denied", "root": 200},
        )

    async def test_login_url(self) -> None:
        await self.assertOutcomes(
            permission_required("auth.delete_user", login_url="/in/"),
            {"alice": "/in/?next=/rand"},
        )

    async def test_inactive_user_has_no_permission(self) -> None:
        await User.objects.filter(pk=self.alice.pk).aupdate(is_active=False)
        await self.assertOutcomes(
            permission_required("auth.add_user"), {"alice": LOGIN}
        )

    def test_misuse_is_a_clear_error_at_decoration(self) -> None:
        for perm in (None, 5, ["auth.add_user", 5]):
            with (
                self.subTest(perm=perm),
                self.assertRaisesMessage(TypeError, "permission_required() takes"),
            ):
                permission_required(perm)  # type: ignore[arg-type]

    def test_marks_the_view_for_preloading(self) -> None:
        for kind in KINDS:
            view = permission_required("auth.add_user")(_view(kind))
            self.assertIs(view.preload_permissions, True)
            self.assertEqual((view.login_url, view.redirect_field_name), (None, "next"))

    async def test_error_in_a_backend_means_no_access(self) -> None:
        with override_settings(
            AUTHENTICATION_BACKENDS=["tests.test_decorators.BrokenBackend"]
        ):
            for kind in KINDS:
                with (
                    self.subTest(kind=kind),
                    self.assertRaisesMessage(RuntimeError, "backend down"),
                ):
                    await self.outcome(
                        permission_required("auth.add_user"), kind, self.alice
                    )


class BrokenBackend:
    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        raise RuntimeError("backend down")


class SyncOnlyBackend:
    """A backend with only sync methods (as guardian's and rules' are); it queries."""

    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        return perm == "tests.publish" and user.groups.filter(name="editors").exists()


@override_settings(
    AUTHENTICATION_BACKENDS=[
        "django.contrib.auth.backends.ModelBackend",
        "tests.test_decorators.SyncOnlyBackend",
    ]
)
class EveryBackendTests(DecoratorTestCase):
    """A sync-only backend is asked on async views too, in a thread (rules#199, guardian#947)."""

    async def test_sync_only_backend_grants_on_async_views(self) -> None:
        await self.assertOutcomes(
            permission_required("tests.publish"),
            {"alice": 200, "bob": LOGIN, "anonymous": LOGIN},
        )

    async def test_djangos_async_decorator_skips_it(self) -> None:
        django = django_decorators.permission_required("tests.publish")
        response = await call(
            django(_view("async")), make_request(await self.fresh(self.alice))
        )
        self.assertEqual(response.status_code, 302)  # refused: the backend was skipped


@override_settings(AUTHENTICATION_BACKENDS=GUARDIAN_BACKENDS)
class GuardianTests(DecoratorTestCase):
    """django-guardian's backend, for real, beside ModelBackend."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.dune = Article.objects.create(title="Dune")
        assign_perm("tests.change_article", cls.bob, cls.dune)

    async def test_model_permissions_still_decide_with_guardian_installed(self) -> None:
        await self.assertOutcomes(
            permission_required("auth.add_user"), {"alice": 200, "bob": LOGIN}
        )

    async def test_an_object_permission_in_a_sync_test_func(self) -> None:
        dune = self.dune

        def may_change_dune(user: Any) -> bool:
            # guardian's has_perm() is sync and queries: on an async view it
            # runs in the check's thread.
            return bool(user.has_perm("tests.change_article", dune))

        await self.assertOutcomes(
            user_passes_test(may_change_dune), {"bob": 200, "alice": LOGIN}
        )


class UserPassesTestTests(DecoratorTestCase):
    async def test_receives_the_requests_user(self) -> None:
        seen: list[str] = []

        def test_func(user: Any) -> bool:
            seen.append(user.get_username())
            return True

        async def atest_func(user: Any) -> bool:
            seen.append(user.get_username())
            return True

        for func in (test_func, atest_func):
            await self.assertOutcomes(user_passes_test(func), {"bob": 200})
        self.assertEqual(seen, ["bob"] * 4)

    async def test_refused_authenticated_user_is_redirected_as_by_django(self) -> None:
        await self.assertOutcomes(
            user_passes_test(lambda user: user.is_staff),
            {"bob": 200, "alice": LOGIN, "anonymous": LOGIN},
        )

    async def test_redirect_field_name_and_login_url(self) -> None:
        await self.assertOutcomes(
            user_passes_test(lambda user: False, "/in/", "to"),
            {"alice": "/in/?to=/rand"},
        )

    async def test_an_error_in_the_test_means_no_access(self) -> None:
        async def test_func(user: Any) -> bool:
            raise RuntimeError("test broke")

        for kind in KINDS:
            with (
                self.subTest(kind=kind),
                self.assertRaisesMessage(RuntimeError, "test broke"),
            ):
                await self.outcome(user_passes_test(test_func), kind, self.root)

    async def test_async_test_func_on_sync_view_never_fails_open(self) -> None:
        """Django's decorator judges what a ``def`` test returns: a coroutine is truthy."""

        def returns_coroutine(user: Any) -> Any:
            async def no() -> bool:
                return False

            return no()

        django = django_decorators.user_passes_test(returns_coroutine)(_view("sync"))
        with self.assertWarns(RuntimeWarning):  # "coroutine ... was never awaited"
            served = await call(django, make_request(await self.fresh(self.alice)))
        self.assertEqual(served.status_code, 200)
        await self.assertOutcomes(user_passes_test(returns_coroutine), {"alice": LOGIN})

    def test_not_callable_is_a_clear_error(self) -> None:
        with self.assertRaisesMessage(TypeError, "user_passes_test() takes a callable"):
            user_passes_test("is_staff")  # type: ignore[arg-type]


@pytest.mark.django_db
@pytest.mark.parametrize("shape", sorted(TEST_FUNC_SHAPES))
@pytest.mark.parametrize("kind", KINDS)
def test_test_func_shapes(kind: str, shape: str) -> None:
    """Every shape of test_func, granting then refusing, judged by its final value.

    Each shape queries the database as its kind allows: a sync one that ran in
    the event loop of an async view would raise SynchronousOnlyOperation.
    """
    RUNS.clear()
    user = User.objects.create_user("carol")
    for value, expected in ((True, 200), (False, 302)):
        view = user_passes_test(TEST_FUNC_SHAPES[shape](value))(_view(kind))
        response = async_to_sync(call)(view, make_request(user))
        assert response.status_code == expected, (kind, shape, value)
    assert RUNS, "the test function never ran"


class GroupSuperuserStaffTests(DecoratorTestCase):
    async def test_group_required(self) -> None:
        await self.assertOutcomes(
            group_required("editors"),
            {"alice": 200, "root": 200, "bob": LOGIN, "anonymous": LOGIN},
        )
        await self.assertOutcomes(
            group_required(["admins", "editors"], raise_exception=True),
            {"alice": 200, "bob": "denied", "anonymous": "denied"},
        )

    def test_group_required_marks_the_view_and_checks_its_argument(self) -> None:
        self.assertIs(group_required("editors")(_view("async")).preload_groups, True)
        with self.assertRaisesMessage(TypeError, "group_required() takes a group name"):
            group_required([self.editors])  # type: ignore[list-item]

    async def test_superuser_and_staff(self) -> None:
        await self.assertOutcomes(
            superuser_required, {"root": 200, "bob": LOGIN, "anonymous": LOGIN}
        )
        await self.assertOutcomes(
            staffuser_required(login_url="/in/"),
            {"bob": 200, "alice": "/in/?next=/rand"},
        )
        await self.assertOutcomes(
            staffuser_required(raise_exception=True),
            {"alice": "denied", "anonymous": "denied"},
        )

    async def test_recent_login(self) -> None:
        # bob's session logged in two hours ago, whatever his last_login says.
        await User.objects.filter(pk=self.bob.pk).aupdate(last_login=timezone.now())
        self.logged_in = {"bob": 2 * 3600, "root": None}
        await self.assertOutcomes(
            recent_login_required,
            {"alice": 200, "bob": LOGIN, "root": LOGIN, "anonymous": LOGIN},
        )
        await self.assertOutcomes(
            recent_login_required(max_last_login_delta=3 * 3600), {"bob": 200}
        )

    async def test_anonymous_required(self) -> None:
        await self.assertOutcomes(
            anonymous_required, {"anonymous": 200, "alice": "/accounts/profile/"}
        )
        await self.assertOutcomes(
            anonymous_required(authenticated_redirect_url="login-page"),
            {"alice": "/login/"},
        )
        self.assertIs(anonymous_required(_view("sync")).login_required, False)


# Class-based views, through method_decorator ---------------------------------


@method_decorator(permission_required("auth.add_user"), name="dispatch")
class SyncDispatch(View):
    def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"sync dispatch {request.user}")


@method_decorator(permission_required("auth.add_user"), name="dispatch")
class AsyncDispatch(View):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"async dispatch {request.user}")


@method_decorator(permission_required("auth.add_user"), name="dispatch")
class AsyncViewDispatch(AsyncView):
    def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"asyncview dispatch {request.user}")


class SyncHandler(View):
    @method_decorator(permission_required("auth.add_user"))
    def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"sync handler {request.user}")


class AsyncHandler(View):
    @method_decorator(permission_required("auth.add_user"))
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"async handler {request.user}")


class AsyncViewSyncHandler(AsyncView):
    @method_decorator(
        user_passes_test(
            lambda user: user.groups.filter(name="editors").exists()  # queries
        )
    )
    def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"asyncview handler {request.user}")


@method_decorator(
    login_required(login_url="/elsewhere/", redirect_field_name="to"), name="dispatch"
)
class LoginElsewhere(AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("elsewhere")


@login_required(login_url="/elsewhere/", redirect_field_name="to")
async def login_elsewhere(request: Any) -> HttpResponse:
    return HttpResponse("elsewhere")


@anonymous_required
async def sign_up(request: Any) -> HttpResponse:
    return HttpResponse("sign up")


async def public(request: Any) -> HttpResponse:
    return HttpResponse(f"{request.user}")


@login_required
async def login_view(request: Any) -> HttpResponse:
    return HttpResponse("login")


@permission_required("auth.add_user")
async def perm_view(request: Any) -> HttpResponse:
    return HttpResponse("perm")


@permission_required("auth.add_user")
def sync_perm_view(request: Any) -> HttpResponse:
    return HttpResponse("perm")


async def _is_alice(user: Any) -> bool:
    return bool(user.get_username() == "alice")


def _is_alice_sync(user: Any) -> bool:
    return bool(user.get_username() == "alice")


@user_passes_test(_is_alice)
async def async_test_view(request: Any) -> HttpResponse:
    return HttpResponse("test")


@user_passes_test(_is_alice_sync)
async def def_test_view(request: Any) -> HttpResponse:
    return HttpResponse("test")


@group_required("editors")
async def group_view(request: Any) -> HttpResponse:
    return HttpResponse("group")


@staffuser_required
async def staff_view(request: Any) -> HttpResponse:
    return HttpResponse("staff")


@superuser_required
async def superuser_view(request: Any) -> HttpResponse:
    return HttpResponse("superuser")


@recent_login_required
async def recent_view(request: Any) -> HttpResponse:
    return HttpResponse("recent")


@django_decorators.login_required
async def django_login_view(request: Any) -> HttpResponse:
    return HttpResponse("login")


@django_decorators.permission_required("auth.add_user")
async def django_perm_view(request: Any) -> HttpResponse:
    return HttpResponse("perm")


@django_decorators.user_passes_test(_is_alice)
async def django_async_test_view(request: Any) -> HttpResponse:
    return HttpResponse("test")


@django_decorators.user_passes_test(_is_alice_sync)
async def django_def_test_view(request: Any) -> HttpResponse:
    return HttpResponse("test")


urlpatterns = [
    path("sync-dispatch/", SyncDispatch.as_view()),
    path("async-dispatch/", AsyncDispatch.as_view()),
    path("asyncview-dispatch/", AsyncViewDispatch.as_view()),
    path("sync-handler/", SyncHandler.as_view()),
    path("async-handler/", AsyncHandler.as_view()),
    path("asyncview-handler/", AsyncViewSyncHandler.as_view()),
    path("login-elsewhere/", LoginElsewhere.as_view()),
    path("login-elsewhere-fn/", login_elsewhere),
    path("sign-up/", sign_up),
    path("public/", public),
    path("login/", login_view),
    path("perm/", perm_view),
    path("sync-perm/", sync_perm_view),
    path("test-async/", async_test_view),
    path("test-def/", def_test_view),
    path("group/", group_view),
    path("staff/", staff_view),
    path("superuser/", superuser_view),
    path("recent/", recent_view),
    path("django/login/", django_login_view),
    path("django/perm/", django_perm_view),
    path("django/test-async/", django_async_test_view),
    path("django/test-def/", django_def_test_view),
]

METHOD_DECORATED = {
    "/sync-dispatch/": "sync dispatch alice",
    "/async-dispatch/": "async dispatch alice",
    "/asyncview-dispatch/": "asyncview dispatch alice",
    "/sync-handler/": "sync handler alice",
    "/async-handler/": "async handler alice",
    "/asyncview-handler/": "asyncview handler alice",
}


@override_settings(ROOT_URLCONF=__name__)
class MethodDecoratorTests(DecoratorTestCase):
    """Through the whole stack, on sync View, async View and AsyncView."""

    async def test_granted_and_refused(self) -> None:
        self.assertTrue(AsyncDispatch.view_is_async)
        for url, body in METHOD_DECORATED.items():
            with self.subTest(url=url):
                await self.async_client.alogout()
                response = await self.async_client.get(url)
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response.url, f"/login/?next={url}")
                await self.async_client.aforce_login(self.bob)
                response = await self.async_client.get(url)
                self.assertEqual(response.status_code, 302)
                await self.async_client.aforce_login(self.alice)
                response = await self.async_client.get(url)
                self.assertEqual(response.content.decode(), body)

    def test_under_wsgi_too(self) -> None:
        self.client.force_login(self.alice)
        for url, body in METHOD_DECORATED.items():
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).content.decode(), body)

    @override_settings(TEMPLATES=[])  # no {{ perms }}: see tests/test_templates.py
    def test_the_permissions_are_loaded_in_the_users_hop(self) -> None:
        """The mark on a method_decorator'd dispatch reaches the middleware."""
        self.async_client.force_login(self.alice)
        baseline = cost_of(self.async_client, "get", "/public/")
        cost = cost_of(self.async_client, "get", "/async-dispatch/")
        self.assertEqual(cost.response.status_code, 200)
        self.assertEqual(cost - baseline, (1, 0))


@override_settings(
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "async_auth_views.middleware.AuthenticationMiddleware",
        "async_auth_views.middleware.LoginRequiredMiddleware",
    ],
)
class LoginRequiredMiddlewareTests(DecoratorTestCase):
    async def test_honours_the_decorators_login_url_and_field(self) -> None:
        for url in ("/login-elsewhere/", "/login-elsewhere-fn/"):
            for client in (self.async_client, self.client):
                with self.subTest(url=url, client=type(client).__name__):
                    response = (
                        await sync_to_async(client.get)(url)
                        if client is self.client
                        else await client.get(url)
                    )
                    self.assertEqual(response.status_code, 302)
                    self.assertEqual(response.url, f"/elsewhere/?to={url}")

    async def test_anonymous_required_view_stays_reachable(self) -> None:
        response = await self.async_client.get("/sign-up/")
        self.assertEqual(response.content, b"sign up")


# Each decorator's own cost: with no {{ perms }} in templates, which would load
# every async handler's permissions with its user (tests/test_templates.py).
@override_settings(ROOT_URLCONF=__name__, TEMPLATES=[])
class CostTests(DecoratorTestCase):
    """SQL statements and thread hops each decorator adds on an async view,
    through the whole stack, against an undecorated view for the same user;
    and Django's async decorators, for comparison (docs/decorators.rst)."""

    def cost(self, user: Any, url: str) -> tuple[int, int]:
        self.async_client.logout()
        if user is not None:
            self.async_client.force_login(user)
        baseline = cost_of(self.async_client, "get", "/public/")
        cost = cost_of(self.async_client, "get", url)
        self.assertEqual((url, cost.response.status_code), (url, 200))
        return cost - baseline

    def test_counts(self) -> None:
        expected = {
            # path: (user, (extra SQL, extra hops))
            "/login/": (self.alice, (0, 0)),
            "/perm/": (self.alice, (1, 0)),  # the permissions, in the user's hop
            "/test-async/": (self.alice, (0, 0)),
            "/test-def/": (self.alice, (0, 1)),  # a def test may query: a thread
            "/group/": (self.alice, (1, 0)),  # the group names, in the user's hop
            "/staff/": (self.bob, (0, 0)),
            "/superuser/": (self.root, (0, 0)),
            "/recent/": (self.alice, (0, 0)),
            "/django/login/": (self.alice, (0, 1)),
            "/django/perm/": (self.alice, (2, 2)),
            "/django/test-async/": (self.alice, (0, 0)),
            "/django/test-def/": (self.alice, (0, 1)),
        }
        for url, (user, counts) in expected.items():
            with self.subTest(url=url):
                self.assertEqual(self.cost(user, url), counts)

    @override_settings(AUTHENTICATION_BACKENDS=GUARDIAN_BACKENDS)
    def test_with_a_sync_only_backend_one_hop(self) -> None:
        """guardian's backend is asked: the whole check in one thread."""
        self.assertEqual(self.cost(self.alice, "/perm/"), (2, 1))
