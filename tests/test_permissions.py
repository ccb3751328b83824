"""Permission checks that ask every backend, in at most one thread hop."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpResponse
from django.test import TestCase, override_settings
from django.utils.functional import SimpleLazyObject
from django.views import View
from guardian.shortcuts import assign_perm

from async_auth_views.mixins import PermissionRequiredMixin
from async_auth_views.permissions import ahas_perms, has_perms, load_permissions

from .kinds import KINDS, make_request, respond, view_class
from .measure import counting_hops
from .models import Article

MODEL = "django.contrib.auth.backends.ModelBackend"
GUARDIAN = "guardian.backends.ObjectPermissionBackend"


class OwnerBackend:
    """A third-party backend with only sync methods and no BaseBackend parent."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None

    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        # Touches the database, as an object-permission backend would.
        return (
            perm == "tests.change_article"
            and obj is not None
            and Article.objects.filter(pk=obj.pk, owner=user.username).exists()
        )


class NativeAsyncBackend:
    """A backend whose async check is its own coroutine: it is awaited, not threaded."""

    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        raise AssertionError("the sync method must not be called")

    async def ahas_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        return perm == "tests.view_article"


class VetoBackend:
    """Raises PermissionDenied, which stops the check: Django's contract."""

    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        raise PermissionDenied


class PermissionTestCase(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")
        cls.alice.user_permissions.add(
            Permission.objects.get(codename="add_user"),
            Permission.objects.get(codename="change_user"),
        )
        cls.root = User.objects.create_superuser("root")
        cls.article = Article.objects.create(title="Dune", owner="alice")

    async def user(self, name: str = "alice") -> User:
        return await User.objects.aget(username=name)

    async def hops_for(
        self, user: Any, perms: Any, obj: Any = None
    ) -> tuple[bool, int]:
        with counting_hops() as hops:
            granted = await ahas_perms(user, perms, obj)
        return granted, len(hops)


class AhasPermsTests(PermissionTestCase):
    async def test_first_check_is_one_hop_then_cached(self) -> None:
        alice = await self.user()
        self.assertEqual(
            await self.hops_for(alice, ["auth.add_user", "auth.change_user"]), (True, 1)
        )
        self.assertEqual(await self.hops_for(alice, ["auth.add_user"]), (True, 0))
        self.assertEqual(await self.hops_for(alice, ["auth.delete_user"]), (False, 0))

    async def test_answered_inline_when_no_backend_would_query(self) -> None:
        root = await self.user("root")
        self.assertEqual(await self.hops_for(root, ["any.thing"]), (True, 0))
        self.assertEqual(
            await self.hops_for(AnonymousUser(), ["auth.add_user"]), (False, 0)
        )
        alice = await self.user()
        self.assertEqual(
            await self.hops_for(alice, ["auth.add_user"], self.article), (False, 0)
        )
        alice.is_active = False
        self.assertEqual(await self.hops_for(alice, ["auth.add_user"]), (False, 0))

    async def test_inactive_superuser_has_nothing(self) -> None:
        root = await self.user("root")
        root.is_active = False
        self.assertEqual(await ahas_perms(root, ["auth.add_user"]), False)

    @override_settings(
        AUTHENTICATION_BACKENDS=[MODEL, "tests.test_permissions.OwnerBackend"]
    )
    async def test_sync_only_backend_is_consulted(self) -> None:
        alice = await self.user()
        # Django's own async API skips a backend that has no async methods.
        self.assertIs(
            await alice.ahas_perms(["tests.change_article"], self.article), False
        )
        self.assertEqual(
            await self.hops_for(alice, ["tests.change_article"], self.article),
            (True, 1),
        )
        bob = await User.objects.acreate(username="bob")
        self.assertEqual(
            await self.hops_for(bob, ["tests.change_article"], self.article), (False, 1)
        )

    @override_settings(
        AUTHENTICATION_BACKENDS=["tests.test_permissions.NativeAsyncBackend"]
    )
    async def test_natively_async_backends_are_awaited_without_a_thread(self) -> None:
        alice = await self.user()
        self.assertEqual(await self.hops_for(alice, ["tests.view_article"]), (True, 0))
        self.assertEqual(await self.hops_for(alice, ["tests.add_article"]), (False, 0))

    @override_settings(
        AUTHENTICATION_BACKENDS=["tests.test_permissions.VetoBackend", MODEL]
    )
    async def test_permission_denied_from_a_backend_stops_the_check(self) -> None:
        alice = await self.user()
        self.assertIs(await ahas_perms(alice, ["auth.add_user"]), False)

    async def test_custom_user_has_perm_is_honoured(self) -> None:
        class Picky(User):
            class Meta:
                proxy = True
                app_label = "tests"

            def has_perm(self, perm: str, obj: Any = None) -> bool:
                return perm == "picky.only"

        picky = await Picky.objects.aget(username="root")
        self.assertIs(await ahas_perms(picky, ["picky.only"]), True)
        self.assertIs(await ahas_perms(picky, ["auth.add_user"]), False)


class GuardianArticle(PermissionRequiredMixin, View):
    permission_required = "tests.change_article"
    raise_exception = True

    async def get(self, request: Any, pk: int) -> HttpResponse:
        return HttpResponse("editing")


@override_settings(AUTHENTICATION_BACKENDS=[MODEL, GUARDIAN])
class ObjectPermissionTests(PermissionTestCase):
    """django-guardian's ObjectPermissionBackend, through get_permission_object()."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.bob = User.objects.create_user("bob")
        cls.other = Article.objects.create(title="Emma")

    async def test_guardian_object_permission(self) -> None:
        from asgiref.sync import sync_to_async

        await sync_to_async(assign_perm)("tests.change_article", self.bob, self.article)

        def get_object(self: Any) -> Article:
            return Article.objects.get(pk=self.kwargs["pk"])

        async def aget_object(self: Any) -> Article:
            return await Article.objects.aget(pk=self.kwargs["pk"])

        for hook in (get_object, aget_object):
            for kind in KINDS:
                with self.subTest(kind=kind, hook=hook.__name__):
                    view = view_class(
                        kind,
                        PermissionRequiredMixin,
                        permission_required="tests.change_article",
                        get_permission_object=hook,
                    )

                    bob = await self.user("bob")
                    response = await respond(
                        view, make_request(bob), pk=self.article.pk
                    )
                    self.assertEqual(response.status_code, 200)
                    with self.assertRaises(PermissionDenied):
                        await respond(view, make_request(bob), pk=self.other.pk)

    async def test_sync_object_lookup_and_check_share_one_hop(self) -> None:
        from asgiref.sync import sync_to_async

        await sync_to_async(assign_perm)("tests.change_article", self.bob, self.article)

        class Edit(GuardianArticle):
            def get_permission_object(self) -> Article:
                return Article.objects.get(pk=self.kwargs["pk"])

        request = make_request(await self.user("bob"))
        with counting_hops() as hops:
            response = await Edit.as_view()(request, pk=self.article.pk)
        self.assertEqual(response.content, b"editing")
        self.assertEqual(len(hops), 1, hops)

    async def test_without_an_object_model_permissions_are_checked(self) -> None:
        request = make_request(await self.user("bob"))
        with self.assertRaises(PermissionDenied):
            await GuardianArticle.as_view()(request, pk=self.article.pk)


class LoadPermissionsTests(TestCase):
    """One statement fills the caches with exactly what ModelBackend computes."""

    @classmethod
    def setUpTestData(cls) -> None:
        perm = {p.codename: p for p in Permission.objects.all()}
        cls.editors = Group.objects.create(name="editors")
        cls.editors.permissions.add(perm["change_user"], perm["view_user"])
        cls.viewers = Group.objects.create(name="viewers")
        cls.viewers.permissions.add(perm["view_user"], perm["view_group"])
        Group.objects.create(name="admins").permissions.add(perm["delete_user"])
        cls.alice = User.objects.create_user("alice")
        cls.alice.user_permissions.add(perm["add_user"], perm["view_user"])
        cls.alice.groups.add(cls.editors, cls.viewers)
        cls.bob = User.objects.create_user("bob")
        cls.bob.groups.add(cls.viewers)

    def assert_same_as_model_backend(self, name: str) -> None:
        loaded = User.objects.get(username=name)
        with self.assertNumQueries(1):
            load_permissions(loaded)
        expected = User.objects.get(username=name)
        backend = ModelBackend()
        self.assertEqual(
            loaded._user_perm_cache, backend.get_user_permissions(expected)
        )
        self.assertEqual(
            loaded._group_perm_cache, backend.get_group_permissions(expected)
        )
        self.assertEqual(loaded._perm_cache, backend.get_all_permissions(expected))
        self.assertTrue(loaded._perm_cache)

    def test_own_and_group_permissions_of_each_user(self) -> None:
        # The statement is compiled once and run for each user with their id.
        self.assert_same_as_model_backend("alice")
        self.assert_same_as_model_backend("bob")
        self.assert_same_as_model_backend("alice")

    def test_a_lazy_user_as_the_sync_path_has(self) -> None:
        lazy = SimpleLazyObject(lambda: User.objects.get(username="alice"))
        with self.assertNumQueries(2):  # the user, then the permissions
            load_permissions(lazy)
        with self.assertNumQueries(0):
            self.assertTrue(has_perms(lazy, ["auth.add_user"]))
        self.assertEqual(
            lazy._perm_cache, ModelBackend().get_all_permissions(self.alice)
        )

    def test_nothing_to_load(self) -> None:
        root = User.objects.create_superuser("root")
        inactive = User.objects.create_user("ghost", is_active=False)
        for user in (root, inactive, AnonymousUser()):
            with self.subTest(user=user), self.assertNumQueries(0):
                load_permissions(user)
                self.assertFalse(hasattr(user, "_perm_cache"))

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL, GUARDIAN])
    def test_other_backends_decide_for_themselves(self) -> None:
        with self.assertNumQueries(0):
            load_permissions(self.alice)


class AnyAndGlobalPermissionTests(TestCase):
    """``any_perm`` and ``accept_global_perms``, sync and async, with their hops."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.article = Article.objects.create(title="Dune")
        cls.alice = User.objects.create_user("alice")
        cls.alice.user_permissions.add(Permission.objects.get(codename="view_article"))
        assign_perm("tests.change_article", cls.alice, cls.article)

    def cases(self) -> list[tuple[tuple[str, ...], Any, dict[str, bool], bool]]:
        view, change = "tests.view_article", "tests.change_article"
        return [
            ((view, change), None, {}, False),
            ((view, change), None, {"any_perm": True}, True),
            ((view,), self.article, {}, False),
            ((view,), self.article, {"accept_global_perms": True}, True),
            ((change,), self.article, {}, True),
            ((view, change), self.article, {"accept_global_perms": True}, False),
            ((view, change), self.article, {"any_perm": True}, True),
            ((), None, {"any_perm": True}, False),
            ((), None, {}, True),
        ]

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL, GUARDIAN])
    async def test_sync_and_async_agree(self) -> None:
        from asgiref.sync import sync_to_async

        for perms, obj, how, expected in self.cases():
            with self.subTest(perms=perms, obj=obj, **how):
                user = await User.objects.aget(pk=self.alice.pk)
                self.assertIs(await ahas_perms(user, perms, obj, **how), expected)
                user = await User.objects.aget(pk=self.alice.pk)
                self.assertIs(
                    await sync_to_async(has_perms)(user, perms, obj, **how), expected
                )

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL])
    async def test_global_and_object_in_memory_when_loaded(self) -> None:
        from asgiref.sync import sync_to_async

        user = await User.objects.aget(pk=self.alice.pk)
        await sync_to_async(load_permissions)(user)
        with counting_hops() as hops:
            granted = await ahas_perms(
                user, ["tests.view_article"], self.article, accept_global_perms=True
            )
        self.assertTrue(granted)
        self.assertEqual(hops, [])

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL, GUARDIAN])
    async def test_global_and_object_cost_one_hop(self) -> None:
        user = await User.objects.aget(pk=self.alice.pk)
        with counting_hops() as hops:
            await ahas_perms(
                user,
                ["tests.view_article", "tests.delete_article"],
                self.article,
                any_perm=False,
                accept_global_perms=True,
            )
        self.assertEqual(hops, ["has_perms"])


class AsyncOnlyBackend:
    """A backend whose ``has_perm()`` is ``async def``: Django's sync path calls it
    without awaiting, so its coroutine, which is true, would grant every permission."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None

    async def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        return False


ASYNC_ONLY = "tests.test_permissions.AsyncOnlyBackend"


@override_settings(AUTHENTICATION_BACKENDS=[MODEL, ASYNC_ONLY])
class AsyncOnlyBackendTests(TestCase):
    """A backend with an ``async def has_perm()`` fails every check closed."""

    def test_the_check_raises_instead_of_granting(self) -> None:
        bob = User.objects.create_user("bob")
        for obj in (None, Article(pk=1)):
            with self.assertRaisesMessage(ImproperlyConfigured, "AsyncOnlyBackend"):
                has_perms(bob, ["auth.delete_user"], obj)

    async def test_the_async_check_raises_instead_of_granting(self) -> None:
        bob = await User.objects.acreate(username="bob")
        for obj in (None, Article(pk=1)):
            with self.assertRaisesMessage(ImproperlyConfigured, "AsyncOnlyBackend"):
                await ahas_perms(bob, ["auth.delete_user"], obj)

    async def test_no_view_is_served(self) -> None:
        bob = await User.objects.acreate(username="bob")
        for kind in KINDS:
            view = view_class(
                kind, PermissionRequiredMixin, permission_required="auth.delete_user"
            )
            with self.subTest(kind=kind), self.assertRaises(ImproperlyConfigured):
                await respond(view, make_request(bob))
