"""Group membership read without a query once the names are loaded."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.exceptions import ImproperlyConfigured
from django.test import TestCase

from async_auth_views.groups import ain_any_group, in_any_group, load_group_names

from .measure import counting_hops
from .models import EmailUser


class GroupMembershipTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")
        cls.alice.groups.add(Group.objects.create(name="editors"))
        Group.objects.create(name="admins")

    def test_sync(self) -> None:
        alice = User.objects.get(pk=self.alice.pk)
        with self.assertNumQueries(1):
            self.assertTrue(in_any_group(alice, ["admins", "editors"]))
            self.assertFalse(in_any_group(alice, ["admins"]))  # names kept
            self.assertFalse(in_any_group(alice, []))
        self.assertFalse(in_any_group(AnonymousUser(), ["editors"]))

    async def test_async_costs_one_hop_then_none(self) -> None:
        alice = await User.objects.aget(pk=self.alice.pk)
        with counting_hops() as hops:
            self.assertTrue(await ain_any_group(alice, ["editors"]))
            self.assertFalse(await ain_any_group(alice, ["admins"]))
        self.assertEqual(hops, ["in_any_group"])

    async def test_preloaded_or_prefetched_costs_nothing(self) -> None:
        loaded = await User.objects.aget(pk=self.alice.pk)
        await sync_to_async(load_group_names)(loaded)
        prefetched = await User.objects.prefetch_related("groups").aget(
            pk=self.alice.pk
        )
        for user in (loaded, prefetched):
            with self.subTest(user=user), counting_hops() as hops:
                self.assertTrue(await ain_any_group(user, ["editors"]))
                self.assertFalse(await ain_any_group(user, ["admins"]))
            self.assertEqual(hops, [])

    async def test_superusers_pass_inactive_users_do_not(self) -> None:
        root = await User.objects.acreate(username="root", is_superuser=True)
        self.assertTrue(await ain_any_group(root, ["nobody-is-in-this"]))
        root.is_active = False
        self.assertFalse(await ain_any_group(root, ["nobody-is-in-this"]))
        alice = await User.objects.aget(pk=self.alice.pk)
        alice.is_active = False
        self.assertFalse(await ain_any_group(alice, ["editors"]))

    def test_user_model_without_groups_is_a_clear_error(self) -> None:
        user = EmailUser(email="e@example.com")
        with self.assertRaisesMessage(ImproperlyConfigured, "EmailUser has no groups"):
            in_any_group(user, ["editors"])
