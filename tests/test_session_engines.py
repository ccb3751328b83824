"""Tests for ``async_auth_views.session_engines``: the identity cache on every session
engine Django ships.

For each engine and each way a session ends, the browser's old cookie is sent
again (a second tab, or a thief) with the identity cache on, and the answer
must be the one Django gives without it: the cache never keeps a session
alive that Django has ended. Where an engine cannot let the library see an
end (``cache``, ``file``, ``signed_cookies``), system check ``W002`` says so.
"""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from typing import Any, ClassVar

from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.file import SessionStore as FileStore
from django.core import checks
from django.core.cache import caches
from django.test import AsyncClient, Client, TestCase, override_settings
from django.utils import timezone
from django.utils.functional import LazyObject, SimpleLazyObject
from django.utils.module_loading import import_string

from async_auth_views import session_engines as sessions
from async_auth_views.checks import check_session_engine
from async_auth_views.resolver import (
    aresolve_user,
    aresolve_user_until,
    resolve_user,
    resolve_user_until,
)
from tests.test_changes import CACHES, IDENTITY, cached, whoami

ENGINES = {
    "db": sessions.DB,
    "cached_db": sessions.CACHED_DB,
    "cache": sessions.CACHE,
    "file": sessions.FILE,
    "signed_cookies": sessions.SIGNED_COOKIES,
}


def _channels_lazy(store: SessionBase) -> Any:
    """The session as Channels' ``SessionMiddleware`` puts it in the scope."""
    lazy = LazyObject()
    lazy._wrapped = store
    return lazy


def _evaluated(store: SessionBase) -> Any:
    lazy = SimpleLazyObject(lambda: store)
    lazy._setup()
    return lazy


#: The lazy objects a session may be handed over in.
WRAPPERS = {
    "channels_scope_session": _channels_lazy,
    "simple_lazy_object": lambda store: SimpleLazyObject(lambda: store),
    "evaluated_simple_lazy_object": _evaluated,
    "lazy_in_lazy": lambda store: SimpleLazyObject(lambda: _channels_lazy(store)),
}


def _forget_storage_path() -> None:
    """The file engine keeps the first SESSION_FILE_PATH it reads; make it read again."""
    if "_storage_path" in vars(FileStore):
        del FileStore._storage_path  # type: ignore[attr-defined]


class EngineTests:
    """Run against ``engine``; subclassed once per engine below."""

    engine: ClassVar[str]
    #: Whether the end of a session without logout() reaches the cache.
    sees_ends_without_logout: ClassVar[bool] = True
    #: Whether the engine can say how long a session has left.
    knows_time_left: ClassVar[bool] = True

    def setUp(self: Any) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        _forget_storage_path()
        self.addCleanup(_forget_storage_path)
        overrides = override_settings(
            **IDENTITY, SESSION_ENGINE=self.engine, SESSION_FILE_PATH=folder.name
        )
        overrides.enable()
        self.addCleanup(overrides.disable)
        for alias in CACHES:
            caches[alias].clear()
        self.alice = User.objects.create_user("alice", password="alice-pass")
        self.bob = User.objects.create_user("bob", password="bob-pass")

    def log_in(self: Any, client: Client, username: str = "alice") -> str:
        response = client.post(
            "/login/", {"username": username, "password": f"{username}-pass"}
        )
        self.assertEqual(response.status_code, 200)
        return str(client.cookies["sessionid"].value)

    def filled(self: Any) -> tuple[Client, str]:
        """A browser logged in as alice whose entry is in the cache."""
        client = Client()
        key = self.log_in(client)
        self.assertEqual(whoami(key), (200, str(self.alice.pk)))
        self.assertTrue(cached(key) or self.engine == sessions.SIGNED_COOKIES)
        return client, key

    def assert_as_django(self: Any, key: str) -> tuple[int, str]:
        """The answer for ``key`` with the cache is Django's answer without it."""
        with override_settings(ASYNC_AUTH_IDENTITY_CACHE=None):
            django = whoami(key)
        self.assertEqual(whoami(key), django)
        return django

    def test_logout(self: Any) -> None:
        client, key = self.filled()
        client.post("/logout/")
        self.assert_as_django(key)

    def test_alogout(self: Any) -> None:
        client, key = self.filled()
        async_client = AsyncClient()
        async_client.cookies = client.cookies
        async_to_sync(async_client.post)("/alogout/")
        self.assert_as_django(key)

    def test_login_as_another_user_in_the_same_browser(self: Any) -> None:
        client, key = self.filled()
        self.log_in(client, "bob")
        answer = self.assert_as_django(key)
        if self.engine != sessions.SIGNED_COOKIES:
            self.assertEqual(answer, (200, "None"))

    def test_alogin_as_another_user_in_the_same_browser(self: Any) -> None:
        client, key = self.filled()
        async_client = AsyncClient()
        async_client.cookies = client.cookies
        response = async_to_sync(async_client.post)(
            "/alogin/", {"username": "bob", "password": "bob-pass"}
        )
        self.assertEqual(response.status_code, 200)
        self.assert_as_django(key)

    def test_flush_and_cycle_key(self: Any) -> None:
        if not self.sees_ends_without_logout:
            self.assertTrue(sessions.limits(self.engine))
            return
        for path in ("/flush/", "/cycle/"):
            with self.subTest(path=path):
                client, key = self.filled()
                client.post(path)
                self.assertEqual(self.assert_as_django(key), (200, "None"))

    def test_expiry(self: Any) -> None:
        key = self.log_in(Client())
        store: SessionBase = import_string(f"{self.engine}.SessionStore")(key)
        if not self.knows_time_left:
            self.assertIsNone(sessions.expires_at(store))
            return
        # A datetime: Django's file engine never expires an integer expiry.
        # The file engine counts whole seconds: give it two.
        expiry = timezone.now() + timedelta(seconds=2)
        store.set_expiry(expiry)
        store.save()
        self.assertEqual(whoami(key), (200, str(self.alice.pk)))
        self.assertLessEqual(sessions.expires_at(store), expiry)
        time.sleep(max((expiry - timezone.now()).total_seconds(), 0) + 0.05)
        self.assertEqual(self.assert_as_django(key), (200, "None"))

    def test_system_check(self: Any) -> None:
        ids = [message.id for message in check_session_engine()]
        if sessions.limits(self.engine):
            self.assertEqual(ids, ["async_auth_views.W002"])
            self.assertIn("async_auth_views.W002", [m.id for m in checks.run_checks()])
        else:
            self.assertEqual(ids, [])
        with override_settings(ASYNC_AUTH_IDENTITY_CACHE=None):
            self.assertEqual(check_session_engine(), [])

    def test_every_session_wrapper(self: Any) -> None:
        """A session handed over inside a lazy object (Channels' scope["session"],
        Django's ``SimpleLazyObject``) is read as the store it wraps: the same
        user, the same expiry, with the identity cache off, missing and hit."""
        key = self.log_in(Client())
        store = import_string(f"{self.engine}.SessionStore")
        resolutions = {
            "resolve_user": resolve_user,
            "resolve_user_until": lambda s: resolve_user_until(s)[0],
            "aresolve_user": async_to_sync(aresolve_user),
            "aresolve_user_until": lambda s: async_to_sync(aresolve_user_until)(s)[0],
        }
        for wrapper, wrap in WRAPPERS.items():
            with self.subTest(wrapper=wrapper, read="expiry"):
                self.assertEqual(
                    sessions.expires_at(wrap(store(key))),
                    sessions.expires_at(store(key)),
                )
                self.assertEqual(
                    sessions.load_with_expiry(wrap(store(key))),
                    sessions.load_with_expiry(store(key)),
                )
            for cache in ("off", "miss", "hit"):
                for name, resolve in resolutions.items():
                    with self.subTest(wrapper=wrapper, cache=cache, read=name):
                        caches["identity"].clear()
                        if cache == "hit":
                            whoami(key)
                        setting = None if cache == "off" else "identity"
                        with override_settings(ASYNC_AUTH_IDENTITY_CACHE=setting):
                            user = resolve(wrap(store(key)))
                        self.assertEqual(user.pk, self.alice.pk)


class DbEngineTests(EngineTests, TestCase):
    engine = sessions.DB


class CachedDbEngineTests(EngineTests, TestCase):
    engine = sessions.CACHED_DB


class CacheEngineTests(EngineTests, TestCase):
    engine = sessions.CACHE
    sees_ends_without_logout = False
    knows_time_left = False


class FileEngineTests(EngineTests, TestCase):
    engine = sessions.FILE
    sees_ends_without_logout = False


class SignedCookiesEngineTests(EngineTests, TestCase):
    engine = sessions.SIGNED_COOKIES
    sees_ends_without_logout = False
    knows_time_left = False
