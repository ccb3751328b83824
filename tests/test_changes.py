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
from django.contrib.auth.models import Group, Permission
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

from async_auth_views import changes
from async_auth_views.identity import _cache, _entries, resolve_session
from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from tests.backends import ExpiringBackend, LockoutBackend, SuspendingBackend, suspend
from tests.channels import urls as channels_urls
from tests.models import Lockout
from tests.project import (
    ADD_USER,
    Employee,
    ProxyGroup,
    ProxyPermission,
    ProxyUser,
    Team,
    User,
    add_user_permission,
    auto_through_only,
    explicit_through_only,
    pk_forms,
)

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


def whoami_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.user.pk))


class Guarded(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = ADD_USER
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
        _cache.cached_entry(caches["identity"], SessionStore(session_key)).user
        is not None
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
        self.permission = add_user_permission()

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

    def assert_stale(self, key: str) -> None:
        """The change ended the entry (whether or not it holds permissions)."""
        self.assertFalse(cached(key), "the entry survived the change")


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

    ``QuerySet.update()`` and ``bulk_create()`` on the tables of groups and
    permissions (and ``QuerySet.delete()`` on an auto-created one) and
    ``QuerySet.update()`` on users are what the docs list as not seen;
    ``changes.user_changed()`` / ``everyone_changed()`` are what they name.
    """

    def setUp(self) -> None:
        super().setUp()
        self.bob = User.objects.create_user("bob")
        self.team = Team.objects.create(name="editors")
        self.team.permissions.add(self.permission)
        self.key = self.login(self.bob)

    @auto_through_only
    def test_group_membership_deleted_in_bulk(self) -> None:
        self.bob.groups.add(self.team)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))
        User.groups.through.objects.filter(user_id=self.bob.pk).delete()
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))  # not seen
        changes.user_changed(self.bob)
        self.assert_refused(self.key)

    def test_group_membership_moved_by_update(self) -> None:
        elsewhere = Group.objects.create(name="elsewhere")
        self.bob.groups.add(self.team)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))
        User.groups.through.objects.filter(user_id=self.bob.pk).update(group=elsewhere)
        self.assertTrue(cached(self.key))  # not seen
        changes.user_changed(self.bob)
        self.assert_refused(self.key)

    def test_direct_permission_granted_by_bulk_create(self) -> None:
        self.assert_refused(self.key)
        through = User.user_permissions.through
        through.objects.bulk_create(
            [through(user=self.bob, permission=self.permission)]
        )
        self.assertTrue(cached(self.key))  # not seen
        changes.user_changed(self.bob.pk)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))

    def test_group_permission_moved_by_update(self) -> None:
        self.bob.groups.add(self.team)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))
        other = Permission.objects.exclude(pk=self.permission.pk).first()
        Group.permissions.through.objects.filter(group_id=self.team.pk).update(
            permission=other
        )
        self.assertTrue(cached(self.key))  # not seen
        changes.everyone_changed()
        self.assert_refused(self.key)

    def test_user_deactivated_by_update(self) -> None:
        User.objects.filter(pk=self.bob.pk).update(is_active=False)
        changes.user_changed(ProxyUser.objects.get(pk=self.bob.pk))
        self.assert_ended(self.key)


@explicit_through_only
class ThroughRowTests(ChangeTestCase):
    """Rows of a project's own membership models (``through=``) saved or
    deleted as rows (``post_save``/``post_delete`` of the through model, not
    ``m2m_changed``): by the project's code, the admin's inline for them, a
    ``QuerySet.delete()``. Each is a change of the users the rows name."""

    def setUp(self) -> None:
        super().setUp()
        self.bob = User.objects.create_user("bob")
        self.carol = User.objects.create_user("carol")
        self.team = Team.objects.create(name="editors")
        self.team.permissions.add(self.permission)
        self.others = Group.objects.create(name="others")
        self.bob.groups.add(self.team)
        self.key = self.login(self.bob)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))
        self.membership = User.groups.through.objects.get(user_id=self.bob.pk)

    def test_deleting_a_membership_row(self) -> None:
        self.membership.delete()
        self.assert_stale(self.key)
        self.assert_refused(self.key)

    def test_deleting_and_saving_a_membership_row_through_a_proxy(self) -> None:
        from tests.hostile.models import ProxyMembership

        row = ProxyMembership.objects.get(pk=self.membership.pk)
        row.delete()
        self.assert_stale(self.key)
        self.assert_refused(self.key)
        ProxyMembership.objects.create(user=self.bob, group=self.team)
        self.assert_stale(self.key)
        self.assertEqual(whoami(self.key, "/guarded/"), (200, "bob"))

    def test_deleting_membership_rows_with_a_queryset(self) -> None:
        User.groups.through.objects.filter(group_id=self.team.pk).delete()
        self.assert_stale(self.key)
        self.assert_refused(self.key)

    def test_saving_a_membership_with_another_group(self) -> None:
        self.membership.group = self.others
        self.membership.save()
        self.assert_stale(self.key)
        self.assert_refused(self.key)

    def test_saving_a_membership_with_another_user(self) -> None:
        # Both users changed: bob left the group, carol joined it.
        carol_key = self.login(self.carol, Client())
        self.assert_refused(carol_key)
        self.membership.user = self.carol
        self.membership.save()
        self.assert_stale(self.key)
        self.assert_stale(carol_key)
        self.assert_refused(self.key)
        self.assertEqual(whoami(carol_key, "/guarded/"), (200, "carol"))

    def test_creating_a_membership_row(self) -> None:
        carol_key = self.login(self.carol, Client())
        self.assert_refused(carol_key)
        User.groups.through.objects.create(user=self.carol, group=self.team)
        self.assert_stale(carol_key)
        self.assertEqual(whoami(carol_key, "/guarded/"), (200, "carol"))
        self.assertTrue(cached(self.key), "bob's entry was ended for nothing")

    def test_deleting_a_direct_permission_row(self) -> None:
        through = User.user_permissions.through
        through.objects.create(user=self.carol, permission=self.permission)
        carol_key = self.login(self.carol, Client())
        self.assertEqual(whoami(carol_key, "/guarded/"), (200, "carol"))
        through.objects.get(user_id=self.carol.pk).delete()
        self.assert_stale(carol_key)
        self.assert_refused(carol_key)
        self.assertTrue(cached(self.key), "bob's entry was ended for nothing")

    def test_creating_a_direct_permission_row(self) -> None:
        carol_key = self.login(self.carol, Client())
        self.assert_refused(carol_key)
        User.user_permissions.through.objects.create(
            user=self.carol, permission=self.permission
        )
        self.assert_stale(carol_key)
        self.assertEqual(whoami(carol_key, "/guarded/"), (200, "carol"))


class PrimaryKeyFormTests(ChangeTestCase):
    """A primary key names the same user in every form its field accepts (a
    UUID in capitals, as bare hex, a str or an int): the token, the entry and
    the sockets' group it names are the same."""

    def setUp(self) -> None:
        super().setUp()
        self.bob = User.objects.create_user("bob")
        self.team = Team.objects.create(name="editors")
        self.team.permissions.add(self.permission)

    def test_user_changed_with_every_form_of_the_key(self) -> None:
        for form in pk_forms(self.bob):
            with self.subTest(form=form):
                User.objects.filter(pk=self.bob.pk).update(is_active=True)
                key = self.login(self.bob, Client())
                User.objects.filter(pk=self.bob.pk).update(is_active=False)
                changes.user_changed(form)
                self.assert_ended(key)

    def test_removing_a_member_by_its_key_in_every_form(self) -> None:
        for form in pk_forms(self.bob):
            with self.subTest(form=form):
                self.bob.groups.add(self.team)
                key = self.login(self.bob, Client())
                self.assertEqual(whoami(key, "/guarded/"), (200, "bob"))
                self.team.user_set.remove(form)
                self.assertFalse(self.bob.groups.exists())
                self.assert_stale(key)
                self.assert_refused(key)

    def test_removing_a_permission_holder_by_its_key_in_every_form(self) -> None:
        for form in pk_forms(self.bob):
            with self.subTest(form=form):
                self.bob.user_permissions.add(self.permission)
                key = self.login(self.bob, Client())
                self.assertEqual(whoami(key, "/guarded/"), (200, "bob"))
                self.permission.user_set.remove(form)
                self.assert_stale(key)
                self.assert_refused(key)

    def test_the_token_of_every_form_is_the_same(self) -> None:
        names = {_entries.user_token_key(form) for form in pk_forms(self.bob)}
        self.assertEqual(names, {_entries.user_token_key(str(self.bob.pk))})

    def test_user_changed_refuses_an_instance_of_another_model(self) -> None:
        with self.assertRaisesMessage(TypeError, "not a Team"):
            changes.user_changed(self.team)


class BackendVerdictTests(ChangeTestCase):
    """A hit gives the verdict Django's ``get_user()`` would give.

    The entry stands for the user's row, which signals report; what the
    session's backend decides beyond the row (an account that expires, a
    lock-out kept elsewhere) no signal reports, so each request asks the
    backend again: ``user_can_authenticate()`` of a backend that keeps
    ``ModelBackend.get_user()``, or its own ``get_user()``. Each refusal is
    compared with Django's own answer, without the cache.
    """

    def login_with(self, backend: type, **fields: Any) -> tuple[Any, str]:
        path = f"{backend.__module__}.{backend.__qualname__}"
        overrides = override_settings(AUTHENTICATION_BACKENDS=[path])
        overrides.enable()
        self.addCleanup(overrides.disable)
        user = User.objects.create_user("dana", **fields)
        key = self.login(user)
        self.assertEqual(whoami(key), (200, str(user.pk)))  # a hit
        return user, key

    def assert_anonymous_as_without_the_cache(self, key: str) -> None:
        self.assertEqual(whoami(key), (200, "None"))
        with override_settings(ASYNC_AUTH_IDENTITY_CACHE=None):
            self.assertEqual(whoami(key), (200, "None"))

    def test_an_account_that_expires_while_cached(self) -> None:
        joined = timezone.now() - ExpiringBackend.lifetime + timedelta(seconds=1)
        _, key = self.login_with(ExpiringBackend, date_joined=joined)
        left = joined + ExpiringBackend.lifetime - timezone.now()
        time.sleep(max(left.total_seconds(), 0) + 0.05)
        self.assertTrue(cached(key))  # No row changed: the entry stands ...
        self.assert_anonymous_as_without_the_cache(key)  # ... and is refused.

    def test_a_lockout_kept_in_another_table(self) -> None:
        # user_can_authenticate() queries: a 500 on the async path would say
        # it ran in the event loop.
        user, key = self.login_with(LockoutBackend)
        Lockout.objects.create(username=user.get_username())
        self.assert_anonymous_as_without_the_cache(key)
        # Django never flushed the session: lifting the lock-out lets it in.
        Lockout.objects.all().delete()
        self.assertEqual(whoami(key), (200, str(user.pk)))

    def test_a_get_user_override_decides_every_hit(self) -> None:
        user, key = self.login_with(SuspendingBackend)
        suspend(user)
        self.assert_anonymous_as_without_the_cache(key)
        caches["default"].clear()
        self.assertEqual(whoami(key), (200, str(user.pk)))

    def test_a_get_user_override_that_expires_the_account(self) -> None:
        # SuspendingBackend's get_user() calls ModelBackend's, which asks its
        # user_can_authenticate(): the account expires on a hit too.
        user, key = self.login_with(SuspendingBackend)
        User.objects.filter(pk=user.pk).update(
            date_joined=timezone.now() - 2 * ExpiringBackend.lifetime
        )  # no signal: as the clock moving on
        self.assertTrue(cached(key))
        self.assert_anonymous_as_without_the_cache(key)


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
        entry = caches["identity"].get(_entries.session_entry_key(self.key))
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
        entry = caches["identity"].get(_entries.session_entry_key(key))
        self.assertEqual(entry.expires_at, expire)
        timeout = caches["identity"]._expire_info[  # type: ignore[attr-defined]
            caches["identity"].make_key(_entries.session_entry_key(key))
        ]
        self.assertLessEqual(timeout, expire.timestamp())

    def test_an_expired_entry_is_never_served(self) -> None:
        # Even by a cache whose own expiry is late or coarse.
        alice = User.objects.create_user("alice")
        key = self.login(alice)
        entry = caches["identity"].get(_entries.session_entry_key(key))
        past = timezone.now() - timedelta(seconds=1)
        caches["identity"].set(
            _entries.session_entry_key(key),
            _entries.Entry(**{**entry.__dict__, "expires_at": past}),
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
        user = resolve_session(store(key)).user
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
