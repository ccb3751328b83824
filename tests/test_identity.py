"""Tests for ``async_auth_views.identity``: the opt-in identity cache, in one process.

Every invalidation path is driven the way a project would change things (a
logout, ``save()``, ``user_permissions.remove()``, deleting a session row) and
checked through the whole middleware stack. The cross-process cases, with a
real ``redis-server``, are in ``tests/e2e/test_identity_cache.py``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path

from async_auth_views import identity
from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from async_auth_views.resolver import resolve_user
from async_auth_views.views import AsyncView
from tests.measure import cost_of

PERMISSION = "auth.add_user"


class WhoAmI(AsyncView):
    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.user.get_username() or "anonymous")


class Guarded(LoginRequiredMixin, PermissionRequiredMixin, AsyncView):
    permission_required = PERMISSION
    raise_exception = True

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.user.get_username())


def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponse("logged out")


urlpatterns = [
    path("whoami/", WhoAmI.as_view()),
    path("guarded/", Guarded.as_view()),
    path("logout/", logout_view),
]


class FailingCache(LocMemCache):
    """A cache server that is down: every call raises, as a lost connection would."""

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache is down")

    get = get_many = set = add = delete = _fail


LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
CACHES = {
    "default": {**LOCMEM, "LOCATION": "default"},
    "identity": {**LOCMEM, "LOCATION": "identity"},
}


@override_settings(
    ROOT_URLCONF=__name__, CACHES=CACHES, ASYNC_AUTH_IDENTITY_CACHE="identity"
)
class IdentityCacheTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="alice-pass")
        cls.permission = Permission.objects.get(codename="add_user")
        cls.alice.user_permissions.add(cls.permission)
        cls.bob = User.objects.create_user("bob", password="bob-pass")
        cls.editors = Group.objects.create(name="editors")
        cls.editors.permissions.add(cls.permission)
        cls.bob.groups.add(cls.editors)

    def setUp(self) -> None:
        caches["identity"].clear()
        self.client = AsyncClient()

    def get(self, path: str = "/guarded/", client: AsyncClient | None = None) -> Any:
        return cost_of(client or self.client, "get", path)

    def assert_served(self, expected: str, path: str = "/guarded/") -> Any:
        cost = self.get(path)
        self.assertEqual(cost.response.status_code, 200)
        self.assertEqual(cost.response.content.decode(), expected)
        return cost

    def assert_refused(self, status: int = 403, path: str = "/guarded/") -> None:
        self.assertEqual(self.get(path).response.status_code, status)

    # Hits -------------------------------------------------------------------

    def test_a_miss_fills_the_cache_and_a_hit_costs_nothing(self) -> None:
        self.client.force_login(self.alice)
        miss = self.assert_served("alice")
        self.assertEqual((len(miss.sql), len(miss.hops) > 0), (3, True))
        hit = self.assert_served("alice")
        self.assertEqual(hit.sql, [])
        # Only the session middleware's own hops remain: none of ours.
        self.assertNotIn("resolve_user", hit.hops)
        self.assertNotIn("has_perms", hit.hops)

    def test_a_hit_still_varies_on_the_cookie(self) -> None:
        # The hit never loads the session, but the page is still alice's.
        self.client.force_login(self.alice)
        self.assert_served("alice")
        hit = self.assert_served("alice")
        self.assertEqual(hit.sql, [])
        self.assertIn("Cookie", hit.response.get("Vary", ""))

    def test_a_hit_gives_each_request_its_own_user_object(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        cache = caches["identity"]
        session = self.client.session
        first = identity.cached_user(cache, session)
        second = identity.cached_user(cache, session)
        self.assertEqual(first, self.alice)
        self.assertIsNot(first, second)

    def test_group_permissions_are_cached_too(self) -> None:
        self.client.force_login(self.bob)
        self.assert_served("bob")
        self.assertEqual(self.assert_served("bob").sql, [])

    def test_anonymous_requests_store_nothing(self) -> None:
        self.assert_refused(403)
        self.assertEqual(caches["identity"]._cache, {})  # type: ignore[attr-defined]

    # Invalidation -----------------------------------------------------------

    def test_logout_ends_the_entry(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        held = self.client.cookies["sessionid"].value
        self.get("/logout/")
        self.client.cookies["sessionid"] = held  # a second browser tab, or a thief
        self.assert_served("anonymous", "/whoami/")

    def test_deleting_the_session_row_ends_the_entry(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        Session.objects.filter(session_key=self.client.session.session_key).delete()
        self.assert_served("anonymous", "/whoami/")

    def test_password_change_ends_other_sessions(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        self.alice.set_password("new-pass")
        self.alice.save()
        self.assert_served("anonymous", "/whoami/")

    def test_deactivation_ends_the_entry(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        alice = User.objects.get(pk=self.alice.pk)
        alice.is_active = False
        alice.save()
        self.assert_served("anonymous", "/whoami/")

    def test_deletion_ends_the_entry(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        User.objects.get(pk=self.alice.pk).delete()
        self.assert_served("anonymous", "/whoami/")

    def test_removing_a_user_permission(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        self.alice.user_permissions.remove(self.permission)
        self.assert_refused()

    def test_removing_a_permission_from_the_reverse_side(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        self.permission.user_set.remove(self.alice)
        self.assert_refused()

    def test_removing_the_user_from_a_group(self) -> None:
        self.client.force_login(self.bob)
        self.assert_served("bob")
        self.bob.groups.remove(self.editors)
        self.assert_refused()

    def test_removing_a_group_member_from_the_group_side(self) -> None:
        self.client.force_login(self.bob)
        self.assert_served("bob")
        self.editors.user_set.clear()
        self.assert_refused()

    def test_removing_a_permission_from_a_group(self) -> None:
        self.client.force_login(self.bob)
        self.assert_served("bob")
        self.editors.permissions.remove(self.permission)
        self.assert_refused()

    def test_deleting_the_group(self) -> None:
        self.client.force_login(self.bob)
        self.assert_served("bob")
        self.editors.delete()
        self.assert_refused()

    def test_deleting_the_permission(self) -> None:
        self.client.force_login(self.bob)
        self.assert_served("bob")
        self.permission.delete()
        self.assert_refused()

    def test_granting_a_permission_is_seen_at_once(self) -> None:
        carol = User.objects.create_user("carol")
        self.client.force_login(carol)
        self.assert_refused()
        carol.user_permissions.add(self.permission)
        self.assert_served("carol")

    # Staleness cannot authenticate -------------------------------------------

    def test_a_change_racing_with_a_miss_leaves_a_stale_entry_unused(self) -> None:
        self.client.force_login(self.alice)
        cache = caches["identity"]
        session = self.client.session
        before = identity.stamp(cache, session)  # read before the database ...
        user = User.objects.get(pk=self.alice.pk)
        self.alice.user_permissions.remove(self.permission)  # ... changed meanwhile
        identity.remember(cache, session, user, before)
        self.assertIsNone(identity.cached_user(cache, session))
        self.assert_refused()

    def test_an_evicted_token_makes_a_miss_not_a_hit(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        user_pk = str(self.alice.pk)
        caches["identity"].delete(identity.user_token_key(user_pk))
        self.assertIsNone(identity.cached_user(caches["identity"], self.client.session))
        self.assertEqual(len(self.assert_served("alice").sql), 3)

    def test_secret_key_rotation_with_a_fallback_keeps_the_user(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        old_key = self.client.session.session_key
        with override_settings(
            SECRET_KEY="rotated-key", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]
        ):
            cost = self.assert_served("alice")
            # Not from the cache: Django verified the old hash and cycled the key.
            self.assertGreater(len(cost.sql), 0)
            self.assertNotEqual(self.client.cookies["sessionid"].value, old_key)
            # The new key's entry is filled by the next request, then served.
            self.assert_served("alice")
            self.assertEqual(self.assert_served("alice").sql, [])

    def test_a_websocket_renewing_the_hash_in_memory_stores_nothing(self) -> None:
        # A WebSocket cannot cycle the key: Django's renewed hash stays in memory
        # while the stored session keeps the old one, which must not be cached.
        self.client.force_login(self.alice)
        old_secret = settings.SECRET_KEY
        with override_settings(SECRET_KEY="rotated", SECRET_KEY_FALLBACKS=[old_secret]):
            session = self.client.session
            user = resolve_user(session, can_set_cookie=False)
            self.assertEqual(user, self.alice)
            self.assertIsNone(identity.cached_user(caches["identity"], session))
        with override_settings(SECRET_KEY="rotated", SECRET_KEY_FALLBACKS=[]):
            self.assert_served("anonymous", "/whoami/")

    def test_secret_key_rotation_without_fallback_logs_out(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        with override_settings(SECRET_KEY="rotated-key", SECRET_KEY_FALLBACKS=[]):
            self.assert_served("anonymous", "/whoami/")

    def test_a_backend_removed_from_settings_is_not_served(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        with override_settings(
            AUTHENTICATION_BACKENDS=["tests.test_permissions.OwnerBackend"]
        ):
            self.assert_served("anonymous", "/whoami/")

    def test_a_cache_that_fails_falls_back_to_the_database(self) -> None:
        failing = {**CACHES, "identity": {"BACKEND": f"{__name__}.FailingCache"}}
        self.client.force_login(self.alice)
        with (
            override_settings(CACHES=failing),
            self.assertLogs("async_auth_views.identity", logging.WARNING) as logs,
        ):
            cost = self.assert_served("alice")
            self.assertEqual(len(cost.sql), 3)
            self.alice.user_permissions.remove(self.permission)
            self.assert_refused()
        self.assertIn("could not be read", logs.output[0])

    def test_session_entry_expires_with_the_session(self) -> None:
        self.client.force_login(self.alice)
        session = self.client.session
        session.set_expiry(1)
        session.save()
        self.assert_served("alice")
        time.sleep(1.1)
        self.assert_served("anonymous", "/whoami/")

    def test_a_session_naming_no_user_is_not_stamped(self) -> None:
        session = self.client.session
        session["something"] = "else"
        self.assertIsNone(identity.stamp(caches["identity"], session))
        self.assertNotIn(SESSION_KEY, session)


class SettingsTests(TestCase):
    def test_unknown_alias(self) -> None:
        with (
            override_settings(ASYNC_AUTH_IDENTITY_CACHE="nope"),
            self.assertRaisesMessage(ImproperlyConfigured, "'nope', which is not"),
        ):
            identity.identity_cache()

    def test_not_a_string(self) -> None:
        with (
            override_settings(ASYNC_AUTH_IDENTITY_CACHE=1),
            self.assertRaisesMessage(ImproperlyConfigured, "must be the alias"),
        ):
            identity.identity_cache()

    def test_bad_timeout(self) -> None:
        for value in (0, -5, 2.5, "60", True):
            with (
                self.subTest(value=value),
                override_settings(ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT=value),
                self.assertRaisesMessage(ImproperlyConfigured, "whole number"),
            ):
                identity.identity_timeout()

    def test_unset_means_no_cache(self) -> None:
        self.assertIsNone(identity.identity_cache())
