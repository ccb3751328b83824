"""Tests for ``async_auth_views.changes``: every way identity or authorization
changes reaches the identity cache, through proxies and multi-table children,
and sessions that end without ``logout()``.

Each test fills the cache entry of a session (two requests: a miss, then a
hit), changes something the way a project would, and asks again with the
session's *old* cookie (a second tab, or a thief): on the sync path
(``Client``) and the async path (``AsyncClient``) alike. The open-socket side
of each row is in ``tests/channels/test_revocation.py``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import (
    AsyncClient,
    Client,
    TestCase,
    TransactionTestCase,
    override_settings,
)
from django.urls import path
from django.utils import timezone
from django.views import View

from async_auth_views import changes, identity
from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from async_auth_views.resolver import resolve_user
from tests.channels import urls as channels_urls
from tests.kin.models import Employee, ProxyGroup, ProxyPermission, ProxyUser, Team

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
CACHES = {
    "default": {**LOCMEM, "LOCATION": "default"},
    "identity": {**LOCMEM, "LOCATION": "identity"},
}
IDENTITY = {
    "ROOT_URLCONF": __name__,
    "CACHES": CACHES,
    "ASYNC_AUTH_IDENTITY_CACHE": "identity",
}
PERMISSION = "add_user"


def whoami_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.user.pk))


class Guarded(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = f"auth.{PERMISSION}"
    raise_exception = True

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.user.get_username())


urlpatterns = [
    path("whoami/", whoami_view),
    path("guarded/", Guarded.as_view()),
    *(
        p
        for p in channels_urls.urlpatterns
        if str(p.pattern) not in ("whoami/", "guarded/")
    ),
]


def whoami(session_key: str, path: str = "/whoami/") -> tuple[int, str]:
    """(status, body) of ``path`` for a browser holding ``session_key``, asked
    on the sync and the async path, which must agree."""
    answers = []
    for client in (Client(), AsyncClient()):
        client.cookies["sessionid"] = session_key
        if isinstance(client, AsyncClient):
            response = async_to_sync(client.get)(path)
        else:
            response = client.get(path)
        answers.append((response.status_code, response.content.decode()))
    assert answers[0] == answers[1], answers
    return answers[0]


def cached(session_key: str) -> bool:
    """Whether the identity cache holds a valid entry for ``session_key``."""
    return (
        identity.cached_user(caches["identity"], SessionStore(session_key)) is not None
    )


class ChangeTestCase(TestCase):
    def identity_settings(self) -> dict[str, Any]:
        """The settings that turn the identity cache on (another cache in
        ``tests/test_identity_redis.py``, which runs these tests on Redis)."""
        return IDENTITY

    def setUp(self) -> None:
        overrides = override_settings(**self.identity_settings())
        overrides.enable()
        self.addCleanup(overrides.disable)
        caches["identity"].clear()
        self.permission = Permission.objects.get(codename=PERMISSION)

    def login(self, user: User, client: Client | None = None) -> str:
        """Log ``user`` in and fill the session's entry; return the session key."""
        client = client or self.client
        client.force_login(user)
        key = client.session.session_key
        assert key is not None
        self.assertEqual(whoami(key), (200, str(user.pk)))
        self.assertTrue(cached(key), "the entry was not filled")
        return key

    def assert_ended(self, key: str) -> None:
        self.assertFalse(cached(key))
        self.assertEqual(whoami(key), (200, "None"))

    def assert_refused(self, key: str) -> None:
        self.assertEqual(whoami(key, "/guarded/")[0], 403)


class UserKinTests(ChangeTestCase):
    """Changes made through a proxy or a multi-table child of the user model."""

    def setUp(self) -> None:
        super().setUp()
        self.alice = User.objects.create_user("alice", password="alice-pass")
        self.key = self.login(self.alice)

    def test_deactivation_through_a_proxy(self) -> None:
        alice = ProxyUser.objects.get(pk=self.alice.pk)
        alice.is_active = False
        alice.save()
        self.assert_ended(self.key)

    def test_password_change_through_a_proxy(self) -> None:
        alice = ProxyUser.objects.get(pk=self.alice.pk)
        alice.set_password("new")
        alice.save()
        self.assert_ended(self.key)

    def test_deletion_through_a_proxy(self) -> None:
        ProxyUser.objects.get(pk=self.alice.pk).delete()
        self.assert_ended(self.key)

    def test_permission_removed_through_a_proxy(self) -> None:
        self.alice.user_permissions.add(self.permission)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "alice"))
        ProxyUser.objects.get(pk=self.alice.pk).user_permissions.remove(self.permission)
        self.assert_refused(self.key)

    def test_permission_removed_from_the_reverse_side_names_only_that_user(
        self,
    ) -> None:
        bob = User.objects.create_user("bob")
        bob_key = self.login(bob, Client())
        self.alice.user_permissions.add(self.permission)
        whoami(self.key, "/guarded/")
        ProxyPermission.objects.get(pk=self.permission.pk).user_set.remove(self.alice)
        self.assert_refused(self.key)
        self.assertTrue(cached(bob_key), "bob's entry was ended for nothing")

    def test_deactivation_through_a_multi_table_child(self) -> None:
        employee = Employee(user_ptr=self.alice, badge="B-1")
        employee.save_base(raw=True)  # the child row for an existing user
        employee = Employee.objects.get(pk=self.alice.pk)
        whoami(self.key)  # the entry again: adding the child row changed nothing
        employee.is_active = False
        employee.save()  # post_save is sent for Employee only
        self.assert_ended(self.key)


class ChildUserTests(ChangeTestCase):
    def test_a_user_created_as_a_child_is_ended_by_its_changes(self) -> None:
        employee = Employee.objects.create_user("erin", password="erin-pass")
        key = self.login(User.objects.get(pk=employee.pk))
        employee.set_password("new")
        employee.save()
        self.assert_ended(key)

    def test_deleting_the_child(self) -> None:
        employee = Employee.objects.create_user("erin", password="erin-pass")
        key = self.login(employee)
        employee.delete()
        self.assert_ended(key)


class GroupAndPermissionKinTests(ChangeTestCase):
    """Changes made through proxies or children of Group and Permission."""

    def setUp(self) -> None:
        super().setUp()
        self.bob = User.objects.create_user("bob")
        self.team = Team.objects.create(name="editors", motto="edit")
        self.team.permissions.add(self.permission)
        self.bob.groups.add(self.team)
        self.key = self.login(self.bob)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))

    def test_deleting_a_child_group(self) -> None:
        Team.objects.get(pk=self.team.pk).delete()
        self.assert_refused(self.key)

    def test_deleting_through_a_proxy_group(self) -> None:
        ProxyGroup.objects.get(pk=self.team.pk).delete()
        self.assert_refused(self.key)

    def test_saving_a_proxy_group_ends_entries(self) -> None:
        group = ProxyGroup.objects.get(pk=self.team.pk)
        group.name = "renamed"
        group.save()
        self.assertFalse(cached(self.key))

    def test_removing_a_permission_through_a_proxy_group(self) -> None:
        ProxyGroup.objects.get(pk=self.team.pk).permissions.remove(self.permission)
        self.assert_refused(self.key)

    def test_deleting_through_a_proxy_permission(self) -> None:
        ProxyPermission.objects.get(pk=self.permission.pk).delete()
        self.assert_refused(self.key)

    def test_saving_a_proxy_permission_ends_entries(self) -> None:
        permission = ProxyPermission.objects.get(pk=self.permission.pk)
        permission.name = "renamed"
        permission.save()
        self.assertFalse(cached(self.key))

    def test_removing_a_member_through_a_child_group(self) -> None:
        Team.objects.get(pk=self.team.pk).user_set.remove(self.bob)
        self.assert_refused(self.key)


class BulkChangeTests(ChangeTestCase):
    """Bulk changes send no signal; one call tells the cache and the sockets.

    ``QuerySet.delete()`` on the many-to-many tables of groups and permissions
    and ``QuerySet.update()`` on users are what the docs list as not seen;
    ``changes.user_changed()`` / ``everyone_changed()`` are what they name.
    """

    def setUp(self) -> None:
        super().setUp()
        self.bob = User.objects.create_user("bob")
        self.team = Team.objects.create(name="editors")
        self.team.permissions.add(self.permission)
        self.key = self.login(self.bob)

    def test_group_membership_deleted_in_bulk(self) -> None:
        self.bob.groups.add(self.team)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))
        User.groups.through.objects.filter(user_id=self.bob.pk).delete()
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))  # not seen
        changes.user_changed(self.bob)
        self.assert_refused(self.key)

    def test_direct_permission_deleted_in_bulk(self) -> None:
        self.bob.user_permissions.add(self.permission)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))
        User.user_permissions.through.objects.filter(user_id=self.bob.pk).delete()
        changes.user_changed(self.bob.pk)
        self.assert_refused(self.key)

    def test_group_permission_deleted_in_bulk(self) -> None:
        self.bob.groups.add(self.team)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))
        Group.permissions.through.objects.filter(group_id=self.team.pk).delete()
        changes.everyone_changed()
        self.assert_refused(self.key)

    def test_user_deactivated_by_update(self) -> None:
        User.objects.filter(pk=self.bob.pk).update(is_active=False)
        changes.user_changed(ProxyUser.objects.get(pk=self.bob.pk))
        self.assert_ended(self.key)


class SessionEndedWithoutLogoutTests(ChangeTestCase):
    """Sessions that end by another way than ``logout()``, with the ``db`` engine;
    the other engines are in ``tests/test_sessions.py``."""

    def setUp(self) -> None:
        super().setUp()
        self.alice = User.objects.create_user("alice", password="alice-pass")
        self.bob = User.objects.create_user("bob", password="bob-pass")
        self.key = self.login(self.alice)

    def test_logging_in_as_another_user_in_the_same_browser(self) -> None:
        response = self.client.post(
            "/login/", {"username": "bob", "password": "bob-pass"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertNotEqual(self.client.session.session_key, self.key)
        self.assert_ended(self.key)

    def test_alogin_as_another_user_in_the_same_browser(self) -> None:
        client = AsyncClient()
        client.cookies["sessionid"] = self.key
        response = async_to_sync(client.post)(
            "/alogin/", {"username": "bob", "password": "bob-pass"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertNotEqual(client.cookies["sessionid"].value, self.key)
        self.assert_ended(self.key)

    def test_flush(self) -> None:
        self.client.post("/flush/")
        self.assert_ended(self.key)

    def test_cycle_key(self) -> None:
        self.client.post("/cycle/")
        new_key = self.client.cookies["sessionid"].value
        self.assertNotEqual(new_key, self.key)
        self.assert_ended(self.key)
        self.assertEqual(whoami(new_key), (200, str(self.alice.pk)))

    def test_deleting_the_row_with_a_queryset(self) -> None:
        # A "sign out that device" page, or the admin's bulk delete.
        Session.objects.filter(session_key=self.key).delete()
        self.assert_ended(self.key)

    def test_clearsessions_after_the_session_expired(self) -> None:
        session = SessionStore(self.key)
        session.set_expiry(1)
        session.save()
        self.assertEqual(whoami(self.key), (200, str(self.alice.pk)))
        time.sleep(1.1)
        call_command("clearsessions")
        self.assertFalse(Session.objects.filter(session_key=self.key).exists())
        self.assert_ended(self.key)

    def test_shortening_the_expiry_ends_an_entry_that_would_outlive_it(
        self,
    ) -> None:
        session = SessionStore(self.key)
        session.set_expiry(60)  # less than the entry's 300 s
        session.save()
        self.assertFalse(cached(self.key))
        self.assertEqual(whoami(self.key), (200, str(self.alice.pk)))
        entry = caches["identity"].get(identity.session_entry_key(self.key))
        self.assertLessEqual(entry.expires_at, timezone.now() + timedelta(seconds=60))


class TimeLeftTests(ChangeTestCase):
    def test_an_entry_lives_no_longer_than_its_session_has_left(self) -> None:
        # A session saved long ago has little left of its two weeks: its
        # entry must not outlive the row's expire_date.
        alice = User.objects.create_user("alice")
        self.client.force_login(alice)
        key = self.client.session.session_key
        assert key is not None
        expire = timezone.now() + timedelta(seconds=3)
        Session.objects.filter(session_key=key).update(expire_date=expire)
        self.assertEqual(whoami(key), (200, str(alice.pk)))
        entry = caches["identity"].get(identity.session_entry_key(key))
        self.assertEqual(entry.expires_at, expire)
        timeout = caches["identity"]._expire_info[  # type: ignore[attr-defined]
            caches["identity"].make_key(identity.session_entry_key(key))
        ]
        self.assertLessEqual(timeout, expire.timestamp())

    def test_an_expired_entry_is_never_served(self) -> None:
        # Even by a cache whose own expiry is late or coarse.
        alice = User.objects.create_user("alice")
        key = self.login(alice)
        entry = caches["identity"].get(identity.session_entry_key(key))
        past = timezone.now() - timedelta(seconds=1)
        caches["identity"].set(
            identity.session_entry_key(key),
            identity.Identity(**{**entry.__dict__, "expires_at": past}),
        )
        self.assertFalse(cached(key))


# Races ------------------------------------------------------------------------

#: The change to make at the exact point where the store or the backend has
#: read the database and the entry is not yet written.
MIDWAY: list[Any] = []


def _midway() -> None:
    while MIDWAY:
        MIDWAY.pop()()


class MidwaySessionStore(SessionStore):
    """The db engine; right after the session is loaded, the competing change runs."""

    # The data is signed with a salt naming the class: keep the engine's name.
    __qualname__ = "SessionStore"

    def load(self) -> dict[str, Any]:
        data = super().load()
        _midway()
        return data


class MidwayBackend(ModelBackend):
    """ModelBackend; right after the user row is read, the competing change runs."""

    def get_user(self, user_id: Any) -> Any:
        user = super().get_user(user_id)
        _midway()
        return user


class RaceTests(TransactionTestCase):
    """A change that lands while a request of the same session is filling its
    entry, between its reading the database and its writing the entry: the
    request in flight is answered as under Django (it read the database before
    the change), and the entry it writes is never served."""

    identity_settings = ChangeTestCase.identity_settings

    def setUp(self) -> None:
        overrides = override_settings(**self.identity_settings())
        overrides.enable()
        self.addCleanup(overrides.disable)
        self.addCleanup(MIDWAY.clear)
        caches["identity"].clear()
        self.alice = User.objects.create_user("alice", password="alice-pass")

    def login(self, backend: str | None = None) -> str:
        self.client.force_login(self.alice, backend=backend)
        key = self.client.session.session_key
        assert key is not None
        return key

    def fill_racing(
        self, key: str, change: Any, store: type[SessionStore] = MidwaySessionStore
    ) -> Any:
        """Resolve ``key`` as a request would, with ``change()`` made midway."""
        MIDWAY.append(change)
        user = resolve_user(store(key))
        self.assertEqual(MIDWAY, [], "the change never ran")
        return user

    def test_logout_during_a_fill(self) -> None:
        key = self.login()

        def logout() -> None:
            other_tab = Client()
            other_tab.cookies["sessionid"] = key
            other_tab.post("/logout/")

        self.assertEqual(self.fill_racing(key, logout), self.alice)
        self.assert_never_served(key)

    def test_session_row_deleted_during_a_fill(self) -> None:
        key = self.login()
        delete = lambda: Session.objects.filter(session_key=key).delete()  # noqa: E731
        self.assertEqual(self.fill_racing(key, delete), self.alice)
        self.assert_never_served(key)

    def test_deactivation_through_a_proxy_during_a_fill(self) -> None:
        backend = f"{__name__}.MidwayBackend"
        with override_settings(AUTHENTICATION_BACKENDS=[backend]):
            key = self.login(backend)

            def deactivate() -> None:
                alice = ProxyUser.objects.get(pk=self.alice.pk)
                alice.is_active = False
                alice.save()

            user = self.fill_racing(key, deactivate, SessionStore)
            self.assertEqual(user, self.alice)
            self.assert_never_served(key)

    def test_without_a_change_the_fill_is_served(self) -> None:
        # The control: filling through the hooks alone does not spoil the entry.
        key = self.login()
        self.fill_racing(key, lambda: None)
        self.assertTrue(cached(key))
        self.assertEqual(whoami(key), (200, str(self.alice.pk)))

    def assert_never_served(self, key: str) -> None:
        self.assertFalse(cached(key))
        self.assertEqual(whoami(key), (200, "None"))
