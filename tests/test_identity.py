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

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY, logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, TestCase, override_settings
from django.urls import path

from async_auth_views import conf
from async_auth_views.identity import _cache, _entries, _fill, resolve_session
from async_auth_views.mixins import LoginRequiredMixin, PermissionRequiredMixin
from async_auth_views.views import AsyncView
from tests.backends import ExpiringBackend, LockoutBackend, SuspendingBackend
from tests.measure import cost_of
from tests.project import ADD_USER, User, add_user_permission, stock_only

PERMISSION = ADD_USER


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
        cls.permission = add_user_permission()
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

    def assert_cached(self) -> None:
        """The session's entry is valid: the next request is a hit."""
        session = self.client.session
        self.assertIsNotNone(_cache.cached_entry(caches["identity"], session).user)

    def assert_refused(self, status: int = 403, path: str = "/guarded/") -> None:
        self.assertEqual(self.get(path).response.status_code, status)

    # Hits -------------------------------------------------------------------

    @stock_only
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
        self.assert_cached()
        hit = self.assert_served("alice")
        self.assertIn("Cookie", hit.response.get("Vary", ""))

    def test_a_hit_gives_each_request_its_own_user_object(self) -> None:
        self.client.force_login(self.alice)
        self.assert_served("alice")
        cache = caches["identity"]
        session = self.client.session
        first = _cache.cached_entry(cache, session).user
        second = _cache.cached_entry(cache, session).user
        self.assertEqual(first, self.alice)
        self.assertIsNot(first, second)

    @stock_only  # The hostile project's permissions are decided by other backends.
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
        before = _fill.snapshot(cache, session)  # read before the database ...
        user = User.objects.get(pk=self.alice.pk)
        self.alice.user_permissions.remove(self.permission)  # ... changed meanwhile
        _fill.remember(cache, session, user, before)
        self.assertIsNone(_cache.cached_entry(cache, session).user)
        self.assert_refused()

    def test_an_evicted_token_makes_a_miss_not_a_hit(self) -> None:
        self.client.force_login(self.alice)
        miss = self.assert_served("alice")
        user_pk = _entries.user_pk_string(self.alice)
        caches["identity"].delete(_entries.user_token_key(user_pk))
        self.assertIsNone(
            _cache.cached_entry(caches["identity"], self.client.session).user
        )
        self.assertEqual(len(self.assert_served("alice").sql), len(miss.sql))

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
            self.assert_cached()

    def test_a_websocket_renewing_the_hash_in_memory_stores_nothing(self) -> None:
        # A WebSocket cannot cycle the key: Django's renewed hash stays in memory
        # while the stored session keeps the old one, which must not be cached.
        self.client.force_login(self.alice)
        old_secret = settings.SECRET_KEY
        with override_settings(SECRET_KEY="rotated", SECRET_KEY_FALLBACKS=[old_secret]):
            session = self.client.session
            user = resolve_session(session, can_set_cookie=False).user
            self.assertEqual(user, self.alice)
            self.assertIsNone(_cache.cached_entry(caches["identity"], session).user)
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
        with override_settings(AUTHENTICATION_BACKENDS=["tests.backends.OwnerBackend"]):
            self.assert_served("anonymous", "/whoami/")

    def test_a_cache_that_fails_falls_back_to_the_database(self) -> None:
        failing = {**CACHES, "identity": {"BACKEND": f"{__name__}.FailingCache"}}
        self.client.force_login(self.alice)
        with override_settings(ASYNC_AUTH_IDENTITY_CACHE=None):
            uncached = self.assert_served("alice")
        with (
            override_settings(CACHES=failing),
            self.assertLogs("async_auth_views.identity", logging.WARNING) as logs,
        ):
            cost = self.assert_served("alice")
            self.assertEqual(len(cost.sql), len(uncached.sql))
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
        self.assertIsNone(_fill.snapshot(caches["identity"], session))
        self.assertNotIn(SESSION_KEY, session)


class AsyncUserCanAuthenticateBackend(ModelBackend):
    async def user_can_authenticate(self, user: Any) -> bool:  # type: ignore[override]
        return False


class AsyncGetUserBackend(ModelBackend):
    async def get_user(self, user_id: Any) -> Any:  # type: ignore[override]
        return None


def _path(backend: type) -> str:
    return f"{backend.__module__}.{backend.__qualname__}"


@override_settings(
    ROOT_URLCONF=__name__, CACHES=CACHES, ASYNC_AUTH_IDENTITY_CACHE="identity"
)
class BackendAskedOnAHitTests(TestCase):
    """What a hit asks the session's backend, and where: in the event loop only
    what is known to do no I/O (``ModelBackend``'s own ``user_can_authenticate()``),
    anything else in one thread hop (``tests/test_changes.py::BackendVerdictTests``
    has the verdicts)."""

    def setUp(self) -> None:
        caches["identity"].clear()

    def hit(self, backend: str) -> Any:
        with override_settings(AUTHENTICATION_BACKENDS=[backend]):
            user = User.objects.create_user(f"user-{len(backend)}-{backend[-6:]}")
            client = AsyncClient()
            client.force_login(user, backend=backend)
            cost_of(client, "get", "/whoami/")  # the miss fills the entry
            self.assertIsNotNone(
                _cache.cached_entry(caches["identity"], client.session).user
            )
            cost = cost_of(client, "get", "/whoami/")
            self.assertEqual(cost.response.content.decode(), user.get_username())
            return cost

    def test_what_a_hit_asks(self) -> None:
        stock = self.hit("django.contrib.auth.backends.ModelBackend")
        self.assertEqual(stock.sql, [])
        self.assertNotIn("resolve_user", stock.hops)
        for backend, statements in (
            (ExpiringBackend, 0),  # its own user_can_authenticate(): no query
            (LockoutBackend, 1),  # its own user_can_authenticate(): the lock-out
            (SuspendingBackend, 1),  # its own get_user(): the user's row
        ):
            with self.subTest(backend=backend.__name__):
                cost = self.hit(_path(backend))
                self.assertEqual(len(cost.sql), statements)
                self.assertEqual(len(cost.hops), len(stock.hops) + 1)

    def test_a_session_naming_a_backend_that_is_gone(self) -> None:
        # Not imported: Django's get_user() ignores a backend not configured.
        user = User.objects.create_user("gone")
        client = AsyncClient()
        client.force_login(user)
        session = client.session
        session[BACKEND_SESSION_KEY] = "tests.nowhere.Backend"
        session.save()
        response = async_to_sync(client.get)("/whoami/")
        self.assertEqual(response.content.decode(), "anonymous")

    def test_an_async_def_where_django_calls_def_is_a_clear_error(self) -> None:
        # Django's get_user() would not await it: its coroutine, which is true,
        # would let the user in (user_can_authenticate), or be the user.
        for backend, name in (
            (AsyncUserCanAuthenticateBackend, "user_can_authenticate"),
            (AsyncGetUserBackend, "get_user"),
        ):
            for cache in ("identity", None):
                with (
                    self.subTest(backend=backend.__name__, cache=cache),
                    override_settings(
                        AUTHENTICATION_BACKENDS=[_path(backend)],
                        ASYNC_AUTH_IDENTITY_CACHE=cache,
                        ROOT_URLCONF="tests.test_changes",  # a sync view for Client
                    ),
                ):
                    user = User.objects.create_user(f"{name}-{cache}")
                    for client in (Client(), AsyncClient()):
                        client.force_login(user, backend=_path(backend))
                        with self.assertRaisesMessage(
                            ImproperlyConfigured, f"{name}() is async def"
                        ):
                            if isinstance(client, AsyncClient):
                                async_to_sync(client.get)("/whoami/")
                            else:
                                client.get("/whoami/")


class SettingsTests(TestCase):
    def test_unknown_alias(self) -> None:
        with (
            override_settings(ASYNC_AUTH_IDENTITY_CACHE="nope"),
            self.assertRaisesMessage(ImproperlyConfigured, "'nope', which is not"),
        ):
            conf.identity_cache()

    def test_not_a_string(self) -> None:
        with (
            override_settings(ASYNC_AUTH_IDENTITY_CACHE=1),
            self.assertRaisesMessage(ImproperlyConfigured, "must be the alias"),
        ):
            conf.identity_cache()

    def test_bad_timeout(self) -> None:
        for value in (0, -5, 2.5, "60", True):
            with (
                self.subTest(value=value),
                override_settings(ASYNC_AUTH_IDENTITY_CACHE_TIMEOUT=value),
                self.assertRaisesMessage(ImproperlyConfigured, "whole number"),
            ):
                conf.identity_cache_timeout()

    def test_unset_means_no_cache(self) -> None:
        self.assertIsNone(conf.identity_cache())
