"""Tests for ``async_auth_views.resolver``: one user resolution for HTTP and Channels.

The cost tests are sync methods that drive the coroutine with ``async_to_sync``,
so that the thread-sensitive hop runs on the test thread, whose database
connection ``CaptureQueriesContext`` watches.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user,
)
from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from async_auth_views.identity import aresolve_session, resolve_session
from async_auth_views.identity import may_name_user as session_may_name_user
from async_auth_views.resolver import arequest_user, request_user
from tests.measure import counting_hops

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def resolve_user(session, **options):
    """The user of resolve_session(), as these tests compare users."""
    return resolve_session(session, **options).user


async def aresolve_user(session, **options):
    """See resolve_user()."""
    return (await aresolve_session(session, **options)).user


def cost(func, *args):
    """Run ``func(*args)`` (a coroutine function is run to completion); count its cost."""
    with counting_hops() as hops, CaptureQueriesContext(connection) as queries:
        result = (
            async_to_sync(func)(*args) if iscoroutinefunction(func) else func(*args)
        )
    return result, len(queries), len(hops)


class ResolveUserTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.user = User.objects.create_user("alice", password="password")

    def logged_in_session(self):
        self.client.force_login(self.user)
        return self.client.session  # not loaded yet

    def test_session_may_name_user(self):
        self.assertFalse(session_may_name_user(SessionStore()))
        session = SessionStore()
        session["theme"] = "dark"
        session.save()
        # A key names a stored session whose content is unknown until loaded.
        stored = SessionStore(session.session_key)
        self.assertTrue(session_may_name_user(stored))
        self.assertEqual(stored["theme"], "dark")  # loads the session
        self.assertFalse(session_may_name_user(stored))
        logged_in = self.logged_in_session()
        self.assertTrue(session_may_name_user(logged_in))
        self.assertEqual(logged_in[SESSION_KEY], str(self.user.pk))  # loads it
        self.assertTrue(session_may_name_user(logged_in))

    def test_a_key_with_a_nul_names_no_user_and_costs_no_query(self):
        # Django never makes such a key; PostgreSQL refuses it in a query.
        session = SessionStore("abc\x00\x01def123456")
        self.assertFalse(session_may_name_user(session))
        for resolve in (resolve_user, aresolve_user):
            with self.subTest(resolve=resolve.__name__):
                user, queries, hops = cost(resolve, session)
                self.assertIsInstance(user, AnonymousUser)
                self.assertEqual((queries, hops), (0, 0))

    def test_user_from_session(self):
        user, queries, hops = cost(resolve_user, self.logged_in_session())
        self.assertEqual(user, self.user)
        self.assertEqual((queries, hops), (2, 0))

    def test_user_from_session_async(self):
        user, queries, hops = cost(aresolve_user, self.logged_in_session())
        self.assertEqual(user, self.user)
        self.assertEqual((queries, hops), (2, 1))

    def test_session_without_key(self):
        user, queries, hops = cost(resolve_user, SessionStore())
        self.assertIsInstance(user, AnonymousUser)
        self.assertEqual((queries, hops), (0, 0))

    def test_session_without_key_async(self):
        user, queries, hops = cost(aresolve_user, SessionStore())
        self.assertIsInstance(user, AnonymousUser)
        self.assertEqual((queries, hops), (0, 0))

    def test_loaded_session_naming_no_user_async(self):
        session = SessionStore()
        session["theme"] = "dark"
        session.save()
        user, queries, hops = cost(aresolve_user, session)
        self.assertIsInstance(user, AnonymousUser)
        self.assertEqual((queries, hops), (0, 0))

    def test_unknown_session_key(self):
        user, queries, hops = cost(resolve_user, SessionStore("x" * 32))
        self.assertIsInstance(user, AnonymousUser)
        self.assertEqual((queries, hops), (1, 0))

    def test_unknown_session_key_async(self):
        user, queries, hops = cost(aresolve_user, SessionStore("x" * 32))
        self.assertIsInstance(user, AnonymousUser)
        self.assertEqual((queries, hops), (1, 1))

    def test_same_answer_as_django_get_user(self):
        for session_key in ["x" * 32, None, self.logged_in_session().session_key]:
            with self.subTest(session_key=session_key):
                request = HttpRequest()
                request.session = SessionStore(session_key)
                expected = get_user(request)
                self.assertEqual(resolve_user(SessionStore(session_key)), expected)
                self.assertEqual(
                    async_to_sync(aresolve_user)(SessionStore(session_key)), expected
                )

    def test_changed_password_flushes_session(self):
        session = self.logged_in_session()
        self.user.set_password("new-password")
        self.user.save()
        self.assertIsInstance(resolve_user(session), AnonymousUser)
        self.assertIsNone(session.session_key)

    def test_changed_password_flushes_session_async(self):
        session = self.logged_in_session()
        self.user.set_password("new-password")
        self.user.save()
        self.assertIsInstance(async_to_sync(aresolve_user)(session), AnonymousUser)
        self.assertIsNone(session.session_key)

    def test_session_without_hash(self):
        session = SessionStore()
        session[SESSION_KEY] = str(self.user.pk)
        session[BACKEND_SESSION_KEY] = MODEL_BACKEND
        session.save()
        for resolve in (resolve_user, async_to_sync(aresolve_user)):
            with self.subTest(resolve=resolve):
                self.assertIsInstance(
                    resolve(SessionStore(session.session_key)), AnonymousUser
                )

    @override_settings(SECRET_KEY="old-secret")
    def test_secret_key_fallback_updates_hash(self):
        for resolve in (resolve_user, async_to_sync(aresolve_user)):
            with self.subTest(resolve=resolve):
                session = self.logged_in_session()
                old_key = session.session_key
                with override_settings(
                    SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]
                ):
                    self.assertEqual(resolve(session), self.user)
                    self.assertNotEqual(session.session_key, old_key)
                    self.assertEqual(
                        session[HASH_SESSION_KEY], self.user.get_session_auth_hash()
                    )

    @override_settings(SECRET_KEY="old-secret")
    def test_rotated_secret_key_without_fallback(self):
        for resolve in (resolve_user, async_to_sync(aresolve_user)):
            with self.subTest(resolve=resolve):
                session = self.logged_in_session()
                with override_settings(SECRET_KEY="new-secret"):
                    self.assertIsInstance(resolve(session), AnonymousUser)


async def _noop(request):
    return HttpResponse()


class RequestUserTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.user = User.objects.create_user("alice", password="password")

    def test_missing_middleware(self):
        msg = (
            "HttpRequest has no user: the authentication middleware is not installed. "
            "Add 'async_auth_views.middleware.AuthenticationMiddleware' to MIDDLEWARE"
        )
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            request_user(HttpRequest())

    async def test_missing_middleware_async(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "HttpRequest has no user"):
            await arequest_user(HttpRequest())

    def test_request_user(self):
        request = HttpRequest()
        request.user = self.user
        self.assertIs(request_user(request), self.user)

    async def test_arequest_user_makes_djangos_lazy_user_concrete(self):
        await self.async_client.aforce_login(self.user)
        request = HttpRequest()
        request.session = self.async_client.session
        await DjangoAuthenticationMiddleware(_noop)(request)
        user = await arequest_user(request)
        self.assertEqual(user, self.user)
        # Sync code (a template, a helper) now reads it without a query.
        self.assertIs(request.user, user)
        self.assertIs(type(request.user), User)
