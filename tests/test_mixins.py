"""The access mixins on the three kinds of view, case by case as Django tests its own."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import mixins as django_mixins
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpResponse
from django.test import TestCase, override_settings
from django.urls import path
from django.utils.functional import SimpleLazyObject
from django.views import View

from async_auth_views.mixins import (
    LoginRequiredMixin,
    PermissionRequiredMixin,
    UserPassesTestMixin,
)
from async_auth_views.views import AsyncView

from .kinds import KINDS, make_request, respond, view_class
from .measure import cost_of


def _perms(*codenames: str) -> list[Permission]:
    return list(Permission.objects.filter(codename__in=codenames))


class MixinTestCase(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="pw")
        cls.alice.user_permissions.add(*_perms("add_user", "change_user"))
        cls.bob = User.objects.create_user("bob", password="pw")
        cls.root = User.objects.create_superuser("root", password="pw")

    def fresh(self, user: User) -> User:
        """A new instance, so no permission cache survives from another test."""
        return User.objects.get(pk=user.pk)

    async def afresh(self, user: User) -> User:
        return await User.objects.aget(pk=user.pk)


class LoginRequiredMixinTests(MixinTestCase):
    async def test_anonymous_is_redirected_to_login(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                view = view_class(kind, LoginRequiredMixin)
                response = await respond(view, make_request(path="/rand?x=1"))
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response.url, "/login/?next=/rand%3Fx%3D1")

    async def test_authenticated_is_served(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                view = view_class(kind, LoginRequiredMixin)
                response = await respond(view, make_request(self.bob))
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.content, b"served bob")

    async def test_raise_exception_gives_403_not_redirect(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                view = view_class(
                    kind,
                    LoginRequiredMixin,
                    raise_exception=True,
                    permission_denied_message="members only",
                )
                with self.assertRaisesMessage(PermissionDenied, "members only"):
                    await respond(view, make_request())

    async def test_view_is_not_run_for_anonymous(self) -> None:
        ran: list[str] = []

        class Async(LoginRequiredMixin, View):
            async def get(self, request: Any) -> HttpResponse:
                ran.append("async")
                return HttpResponse()

        class Sync(LoginRequiredMixin, View):
            def get(self, request: Any) -> HttpResponse:
                ran.append("sync")
                return HttpResponse()

        for view in (Async, Sync):
            response = await respond(view, make_request())
            self.assertEqual(response.status_code, 302)
        self.assertEqual(ran, [])

    async def test_async_view_stays_async(self) -> None:
        view = view_class("async", LoginRequiredMixin)
        self.assertTrue(view.view_is_async)
        self.assertTrue(asyncio.iscoroutinefunction(view.as_view()))
        self.assertFalse(view_class("sync", LoginRequiredMixin).view_is_async)

    async def test_resolves_a_lazy_user_before_checking(self) -> None:
        """Under Django's middleware request.user is lazy; the check reads it in a thread."""
        request = make_request()
        alice = self.alice
        request.user = SimpleLazyObject(lambda: User.objects.get(pk=alice.pk))

        async def auser() -> AnonymousUser:
            # A separate cache (Django's): request.user, not this, is judged.
            return AnonymousUser()

        request.auser = auser
        response = await respond(view_class("async", LoginRequiredMixin), request)
        self.assertEqual(response.content, b"served alice")
        self.assertEqual(request.user, alice)
        self.assertIs(type(request.user), User)

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
                await respond(view_class(kind, LoginRequiredMixin), request)


class RedirectTests(MixinTestCase):
    """How handle_no_permission() builds the login redirect, as Django does."""

    async def assertRedirects_to(
        self, url: str, request: Any = None, **attrs: Any
    ) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):
                view = view_class(kind, LoginRequiredMixin, **attrs)
                response = await respond(view, request or make_request())
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response.url, url)

    async def test_custom_login_url(self) -> None:
        await self.assertRedirects_to(
            "/accounts/in/?next=/rand", login_url="/accounts/in/"
        )

    async def test_custom_redirect_field_name(self) -> None:
        await self.assertRedirects_to("/login/?goto=/rand", redirect_field_name="goto")

    async def test_no_redirect_field(self) -> None:
        await self.assertRedirects_to("/login/", redirect_field_name=None)

    async def test_query_string_kept(self) -> None:
        await self.assertRedirects_to(
            "/login/?next=/rand%3Fa%3D1%26b%3D2", make_request(path="/rand?a=1&b=2")
        )

    async def test_remote_login_url_gets_full_next(self) -> None:
        await self.assertRedirects_to(
            "https://auth.example.com/login?next=http%3A//testserver/rand",
            login_url="https://auth.example.com/login",
        )

    async def test_same_host_absolute_login_url_gets_path(self) -> None:
        await self.assertRedirects_to(
            "http://testserver/login/?next=/rand", login_url="http://testserver/login/"
        )

    async def test_login_url_may_be_a_url_name(self) -> None:
        with override_settings(ROOT_URLCONF="tests.urls", LOGIN_URL="login-page"):
            await self.assertRedirects_to("/login/?next=/rand")

    @override_settings(LOGIN_URL=None)
    async def test_missing_login_url(self) -> None:
        name = "AsyncView"  # view_class("async", ...) names its class so
        msg = (
            f"{name} is missing the login_url attribute. Define {name}.login_url, "
            f"settings.LOGIN_URL, or override {name}.get_login_url()."
        )
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            await respond(view_class("async", LoginRequiredMixin), make_request())

    async def test_overridden_getters_are_used(self) -> None:
        class Custom(LoginRequiredMixin, View):
            def get_login_url(self) -> str:
                return "/custom/"

            def get_redirect_field_name(self) -> str:
                return "from"

            async def get(self, request: Any) -> HttpResponse:
                return HttpResponse()

        response = await respond(Custom, make_request())
        self.assertEqual(response.url, "/custom/?from=/rand")

    async def test_async_handle_no_permission_is_awaited(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind):

                async def handle_no_permission(self: Any) -> HttpResponse:
                    return HttpResponse("custom denial", status=401)

                view = view_class(
                    kind, LoginRequiredMixin, handle_no_permission=handle_no_permission
                )
                response = await respond(view, make_request())
                self.assertEqual(response.status_code, 401)
                self.assertEqual(response.content, b"custom denial")


class PermissionRequiredMixinTests(MixinTestCase):
    async def check(self, user: Any, perms: Any, **attrs: Any) -> list[Any]:
        """The response of each kind of view, for ``user`` and ``perms``."""
        responses = []
        for kind in KINDS:
            with self.subTest(kind=kind):
                view = view_class(
                    kind, PermissionRequiredMixin, permission_required=perms, **attrs
                )
                fresh = await self.afresh(user) if user.is_authenticated else user
                responses.append(await respond(view, make_request(fresh)))
        return responses

    async def test_many_permissions_pass(self) -> None:
        for response in await self.check(
            self.alice, ["auth.add_user", "auth.change_user"]
        ):
            self.assertEqual(response.status_code, 200)

    async def test_single_permission_pass(self) -> None:
        for response in await self.check(self.alice, "auth.add_user"):
            self.assertEqual(response.status_code, 200)

    async def test_one_missing_permission_denies(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind), self.assertRaises(PermissionDenied):
                view = view_class(
                    kind,
                    PermissionRequiredMixin,
                    permission_required=["auth.add_user", "auth.delete_user"],
                )
                await respond(view, make_request(await self.afresh(self.alice)))

    async def test_anonymous_is_redirected(self) -> None:
        for response in await self.check(AnonymousUser(), "auth.add_user"):
            self.assertEqual(response.status_code, 302)
            self.assertEqual(response.url, "/login/?next=/rand")

    async def test_anonymous_with_raise_exception_gets_403(self) -> None:
        for kind in KINDS:
            with self.subTest(kind=kind), self.assertRaises(PermissionDenied):
                view = view_class(
                    kind,
                    PermissionRequiredMixin,
                    permission_required="auth.add_user",
                    raise_exception=True,
                )
                await respond(view, make_request())

    async def test_superuser_has_every_permission(self) -> None:
        for response in await self.check(self.root, ["auth.delete_user", "tests.nope"]):
            self.assertEqual(response.status_code, 200)

    async def test_inactive_user_has_no_permission(self) -> None:
        await User.objects.filter(pk=self.alice.pk).aupdate(is_active=False)
        for kind in KINDS:
            with self.subTest(kind=kind), self.assertRaises(PermissionDenied):
                view = view_class(
                    kind, PermissionRequiredMixin, permission_required="auth.add_user"
                )
                await respond(view, make_request(await self.afresh(self.alice)))

    async def test_group_permissions_count(self) -> None:
        from django.contrib.auth.models import Group

        group = await Group.objects.acreate(name="editors")
        await sync_to_async(group.permissions.add)(
            *await sync_to_async(_perms)("delete_user")
        )
        await sync_to_async(self.bob.groups.add)(group)
        for response in await self.check(self.bob, "auth.delete_user"):
            self.assertEqual(response.status_code, 200)

    async def test_missing_permission_required(self) -> None:
        for kind in KINDS:
            view = view_class(kind, PermissionRequiredMixin)
            name = view.__name__
            msg = (
                f"{name} is missing the permission_required attribute. Define "
                f"{name}.permission_required, or override "
                f"{name}.get_permission_required()."
            )
            with (
                self.subTest(kind=kind),
                self.assertRaisesMessage(ImproperlyConfigured, msg),
            ):
                await respond(view, make_request(self.alice))

    def test_get_permission_required_normalises_a_string(self) -> None:
        class V(PermissionRequiredMixin, View):
            permission_required = "auth.add_user"

        self.assertEqual(V().get_permission_required(), ("auth.add_user",))
        V.permission_required = ["a.b", "c.d"]  # type: ignore[assignment]
        self.assertEqual(tuple(V().get_permission_required()), ("a.b", "c.d"))

    async def test_custom_has_permission_sync_and_async(self) -> None:
        calls: list[str] = []

        def sync_has(self: Any) -> bool:
            calls.append("sync")
            return self.request.user.username == "bob"

        async def async_has(self: Any) -> bool:
            calls.append("async")
            return self.request.user.username == "bob"

        for has_permission in (sync_has, async_has):
            for kind in KINDS:
                with self.subTest(kind=kind, hook=has_permission.__name__):
                    view = view_class(
                        kind, PermissionRequiredMixin, has_permission=has_permission
                    )
                    response = await respond(view, make_request(self.bob))
                    self.assertEqual(response.status_code, 200)
                    with self.assertRaises(PermissionDenied):
                        await respond(view, make_request(self.alice))
        self.assertEqual(calls.count("sync"), 6)
        self.assertEqual(calls.count("async"), 6)

    async def test_async_has_permission_returning_false_denies_a_sync_view(
        self,
    ) -> None:
        async def has_permission(self: Any) -> bool:
            return False

        view = view_class(
            "sync", PermissionRequiredMixin, has_permission=has_permission
        )
        with self.assertRaises(PermissionDenied):
            await respond(view, make_request(self.root))

    async def test_error_in_check_means_no_access(self) -> None:
        async def has_permission(self: Any) -> bool:
            raise RuntimeError("backend down")

        for kind in KINDS:
            with (
                self.subTest(kind=kind),
                self.assertRaisesMessage(RuntimeError, "backend down"),
            ):
                view = view_class(
                    kind, PermissionRequiredMixin, has_permission=has_permission
                )
                await respond(view, make_request(self.root))


class UserPassesTestMixinTests(MixinTestCase):
    async def test_passing_and_failing_test_func(self) -> None:
        def is_bob(self: Any) -> bool:
            return self.request.user.username == "bob"

        async def ais_bob(self: Any) -> bool:
            await asyncio.sleep(0)
            return self.request.user.username == "bob"

        for test_func in (is_bob, ais_bob):
            for kind in KINDS:
                with self.subTest(kind=kind, hook=test_func.__name__):
                    view = view_class(kind, UserPassesTestMixin, test_func=test_func)
                    ok = await respond(view, make_request(self.bob))
                    self.assertEqual(ok.status_code, 200)
                    with self.assertRaises(PermissionDenied):
                        await respond(view, make_request(self.alice))
                    denied = await respond(view, make_request())
                    self.assertEqual(denied.status_code, 302)

    async def test_async_test_func_on_sync_view_never_fails_open(self) -> None:
        """Django's mixin truth-tests the coroutine object and serves the view."""

        async def test_func(self: Any) -> bool:
            return False

        class DjangoView(django_mixins.UserPassesTestMixin, View):
            def get(self, request: Any) -> HttpResponse:
                return HttpResponse("served")

        DjangoView.test_func = test_func  # type: ignore[assignment]
        with self.assertWarns(RuntimeWarning):  # "coroutine ... was never awaited"
            served = await respond(DjangoView, make_request(self.alice))
        self.assertEqual(served.content, b"served")
        view = view_class("sync", UserPassesTestMixin, test_func=test_func)
        with self.assertRaises(PermissionDenied):
            await respond(view, make_request(self.alice))

    async def test_test_func_returning_an_awaitable_is_awaited(self) -> None:
        async def no() -> bool:
            return False

        def test_func(self: Any) -> Any:
            return no()

        for kind in KINDS:
            with self.subTest(kind=kind), self.assertRaises(PermissionDenied):
                view = view_class(kind, UserPassesTestMixin, test_func=test_func)
                await respond(view, make_request(self.alice))

    async def test_get_test_func_selects_the_hook(self) -> None:
        def get_test_func(self: Any) -> Any:
            return self.always_no

        async def always_no(self: Any) -> bool:
            return False

        for kind in KINDS:
            with self.subTest(kind=kind), self.assertRaises(PermissionDenied):
                view = view_class(
                    kind,
                    UserPassesTestMixin,
                    test_func=lambda self: True,
                    get_test_func=get_test_func,
                    always_no=always_no,
                )
                await respond(view, make_request(self.alice))

    async def test_missing_test_func(self) -> None:
        for kind in KINDS:
            view = view_class(kind, UserPassesTestMixin)
            msg = f"{view.__name__} is missing the implementation of the test_func() method."
            with (
                self.subTest(kind=kind),
                self.assertRaisesMessage(NotImplementedError, msg),
            ):
                await respond(view, make_request(self.alice))

    async def test_raise_exception_custom_message_and_function(self) -> None:
        view = view_class(
            "async",
            UserPassesTestMixin,
            test_func=lambda self: False,
            raise_exception=True,
            permission_denied_message="You shall not pass",
        )
        with self.assertRaisesMessage(PermissionDenied, "You shall not pass"):
            await respond(view, make_request())
        view = view_class(
            "async",
            UserPassesTestMixin,
            test_func=lambda self: False,
            raise_exception=True,
            get_permission_denied_message=lambda self: "from a method",
        )
        with self.assertRaisesMessage(PermissionDenied, "from a method"):
            await respond(view, make_request())

    async def test_test_func_that_queries_runs_in_a_thread(self) -> None:
        def has_friends(self: Any) -> bool:
            return User.objects.filter(username="bob").exists()

        view = view_class("async", UserPassesTestMixin, test_func=has_friends)
        response = await respond(view, make_request(self.alice))
        self.assertEqual(response.status_code, 200)


class StackedMixinTests(MixinTestCase):
    """LoginRequired + PermissionRequired, in either order, as Django behaves."""

    orders = (
        (LoginRequiredMixin, PermissionRequiredMixin),
        (PermissionRequiredMixin, LoginRequiredMixin),
    )

    async def test_stacked_success(self) -> None:
        for mixins in self.orders:
            for kind in KINDS:
                with self.subTest(kind=kind, order=[m.__name__ for m in mixins]):
                    view = view_class(
                        kind, *mixins, permission_required="auth.add_user"
                    )
                    response = await respond(
                        view, make_request(await self.afresh(self.alice))
                    )
                    self.assertEqual(response.status_code, 200)

    async def test_stacked_anonymous_redirected_and_authenticated_forbidden(
        self,
    ) -> None:
        for mixins in self.orders:
            for kind in KINDS:
                with self.subTest(kind=kind, order=[m.__name__ for m in mixins]):
                    view = view_class(
                        kind, *mixins, permission_required="auth.add_user"
                    )
                    response = await respond(view, make_request())
                    self.assertEqual(response.status_code, 302)
                    with self.assertRaises(PermissionDenied):
                        await respond(view, make_request(self.bob))

    async def test_stacked_with_raise_exception(self) -> None:
        for mixins in self.orders:
            view = view_class(
                "async",
                *mixins,
                permission_required="auth.add_user",
                raise_exception=True,
            )
            with self.assertRaises(PermissionDenied):
                await respond(view, make_request())

    async def test_checks_run_in_mro_order_and_stop_at_the_first_failure(self) -> None:
        calls: list[str] = []

        class V(LoginRequiredMixin, UserPassesTestMixin, View):
            async def test_func(self) -> bool:
                calls.append("test_func")
                return True

            async def get(self, request: Any) -> HttpResponse:
                return HttpResponse()

        await respond(V, make_request())
        self.assertEqual(calls, [])
        await respond(V, make_request(self.bob))
        self.assertEqual(calls, ["test_func"])

    async def test_user_dispatch_override_between_mixins(self) -> None:
        class Loader:
            async def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
                self.article = "loaded"
                return await super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

        class V(LoginRequiredMixin, Loader, UserPassesTestMixin, View):
            def test_func(self) -> bool:
                return self.article == "loaded"

            async def get(self, request: Any) -> HttpResponse:
                return HttpResponse(self.article)

        response = await respond(V, make_request(self.bob))
        self.assertEqual(response.content, b"loaded")


class Protected(LoginRequiredMixin, PermissionRequiredMixin, AsyncView):
    permission_required = ("auth.add_user", "auth.change_user")

    async def get(self, request: Any) -> HttpResponse:
        has_again = await request.user.ahas_perms(["auth.add_user"])
        return HttpResponse(f"{request.user.get_username()} {has_again}")


class Public(AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse("public")


urlpatterns = [
    path("protected/", Protected.as_view()),
    path("public/", Public.as_view()),
]


@override_settings(ROOT_URLCONF=__name__)
class CostTests(MixinTestCase):
    """SQL statements and thread hops the mixins add, through the whole stack."""

    def test_anonymous_costs_nothing(self) -> None:
        baseline = cost_of(self.async_client, "get", "/public/")
        cost = cost_of(self.async_client, "get", "/protected/")
        self.assertEqual(cost.response.status_code, 302)
        self.assertEqual(cost - baseline, (0, 0))

    def test_login_and_two_permissions(self) -> None:
        baseline = cost_of(self.async_client, "get", "/public/")
        self.async_client.force_login(self.alice)
        cost = cost_of(self.async_client, "get", "/protected/")
        self.assertEqual(cost.response.content, b"alice True")
        # Session, user and its permissions (one UNION) in the middleware's hop;
        # the mixin's check and the view's own ahas_perms() read the caches.
        self.assertEqual(cost - baseline, (3, 1))
        self.assertIn(" UNION ALL ", cost.sql[-1])

    def test_superuser_permission_check_is_free(self) -> None:
        baseline = cost_of(self.async_client, "get", "/public/")
        self.async_client.force_login(self.root)
        cost = cost_of(self.async_client, "get", "/protected/")
        self.assertEqual(cost.response.status_code, 200)
        self.assertEqual(cost - baseline, (2, 1))


class LazyUserView(UserPassesTestMixin, View):
    """A sync view whose async check reads ``self.request.user``."""

    async def test_func(self) -> bool:
        return bool(self.request.user.get_username() == "alice")

    def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"served {request.user}")


urlpatterns += [path("lazy/", LazyUserView.as_view())]


@override_settings(ROOT_URLCONF=__name__)
class AsyncCheckOnSyncViewTests(MixinTestCase):
    """An async check on a sync view reads a user resolved before it runs."""

    def test_under_wsgi(self) -> None:
        self.client.force_login(self.alice)
        response = self.client.get("/lazy/")
        self.assertEqual(response.content, b"served alice")
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get("/lazy/").status_code, 403)

    @override_settings(ASYNC_AUTH_LAZY_PATHS=[r"^/lazy/"])
    async def test_on_a_lazy_path_under_asgi(self) -> None:
        await self.async_client.aforce_login(self.alice)
        response = await self.async_client.get("/lazy/")
        self.assertEqual(response.content, b"served alice")
        await self.async_client.aforce_login(self.bob)
        self.assertEqual((await self.async_client.get("/lazy/")).status_code, 403)


class DjangoExtensionPointTests(MixinTestCase):
    """What Django's mixins return and judge, ours return and judge."""

    def test_get_permission_required_keeps_a_list(self) -> None:
        class Base(PermissionRequiredMixin, View):
            permission_required = ["auth.add_user"]  # noqa: RUF012

        class More(Base):
            def get_permission_required(self) -> Any:
                return super().get_permission_required() + ["auth.change_user"]  # noqa: RUF005

        self.assertEqual(Base().get_permission_required(), ["auth.add_user"])
        self.assertEqual(
            More().get_permission_required(), ["auth.add_user", "auth.change_user"]
        )
        Base.permission_required = ("auth.add_user",)  # type: ignore[assignment]
        self.assertEqual(Base().get_permission_required(), ("auth.add_user",))

    async def test_extended_list_is_checked(self) -> None:
        class More(PermissionRequiredMixin, View):
            permission_required = ["auth.add_user"]  # noqa: RUF012

            def get_permission_required(self) -> Any:
                return super().get_permission_required() + ["auth.delete_user"]  # noqa: RUF005

        for kind in KINDS:
            with self.subTest(kind=kind), self.assertRaises(PermissionDenied):
                view = view_class(kind, More)
                await respond(view, make_request(await self.afresh(self.alice)))

    async def test_dispatch_judges_the_request_it_is_given(self) -> None:
        for kind in KINDS:
            for mixin, attrs in [
                (LoginRequiredMixin, {}),
                (PermissionRequiredMixin, {"permission_required": "auth.add_user"}),
            ]:
                with self.subTest(kind=kind, mixin=mixin.__name__):
                    view = view_class(kind, mixin, **attrs)()
                    view.setup(make_request(self.alice))
                    response = view.dispatch(make_request())
                    if asyncio.iscoroutine(response):
                        response = await response
                    self.assertEqual(response.status_code, 302)
