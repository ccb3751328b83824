"""Tests for ``async_auth_views.login_time``: recency is the session's, not the user's.

A thief holding a copy of an old session cookie must not become "recent" when
the real user logs in on another device (which updates ``user.last_login``).
Each case goes through the whole middleware stack, on the async path
(``AsyncClient``) and the sync path (``Client``), through the mixin and the
decorator on async and sync views, and with the identity cache, whose hits do
not load the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth import alogin, login
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.http import HttpResponse
from django.test import AsyncClient, Client, TestCase, override_settings
from django.urls import path
from django.views import View

from async_auth_views.decorators import recent_login_required
from async_auth_views.mixins import RecentLoginRequiredMixin
from async_auth_views.views import AsyncView

from .measure import cost_of

#: Where the session notes when it logged in.
LOGIN_TIME = "_async_auth_login_time"
TWO_HOURS = 2 * 3600


class Recent(RecentLoginRequiredMixin, AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"recent {request.user}")


class SyncRecent(RecentLoginRequiredMixin, View):
    def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"recent {request.user}")


@recent_login_required
async def recent_function(request: Any) -> HttpResponse:
    return HttpResponse(f"recent {request.user}")


@recent_login_required
def sync_recent_function(request: Any) -> HttpResponse:
    return HttpResponse(f"recent {request.user}")


class WhoAmI(AsyncView):
    async def get(self, request: Any) -> HttpResponse:
        return HttpResponse(f"{request.user}")


def log_in(request: Any) -> HttpResponse:
    login(request, User.objects.get(username=request.GET["as"]))
    return HttpResponse("logged in")


async def alog_in(request: Any) -> HttpResponse:
    await alogin(request, await User.objects.aget(username=request.GET["as"]))
    return HttpResponse("logged in")


urlpatterns = [
    path("recent/", Recent.as_view()),
    path("sync-recent/", SyncRecent.as_view()),
    path("recent-function/", recent_function),
    path("sync-recent-function/", sync_recent_function),
    path("whoami/", WhoAmI.as_view()),
    path("log-in/", log_in),
    path("alog-in/", alog_in),
]

PROTECTED = ("/recent/", "/sync-recent/", "/recent-function/", "/sync-recent-function/")


def get(client: Client | AsyncClient, url: str) -> Any:
    if isinstance(client, AsyncClient):
        return async_to_sync(client.get)(url)
    return client.get(url)


def session_of(client: Client | AsyncClient) -> Any:
    return SessionStore(client.cookies["sessionid"].value)


def age(client: Client | AsyncClient, seconds: float | None) -> None:
    """Make the client's session as old as ``seconds``, or say nothing (None).

    With ``QuerySet.update()``: no signal, so an identity-cache entry survives.
    """
    session = session_of(client)
    data = session.load()
    if seconds is None:
        data.pop(LOGIN_TIME, None)
    else:
        data[LOGIN_TIME] = time.time() - seconds
    Session.objects.filter(session_key=session.session_key).update(
        session_data=session.encode(data)
    )


@override_settings(ROOT_URLCONF=__name__)
class RecordedAtLoginTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")

    def test_login_and_alogin_note_when_the_session_logged_in(self) -> None:
        for client, url in ((Client(), "/log-in/"), (AsyncClient(), "/alog-in/")):
            with self.subTest(url=url):
                before = time.time()
                self.assertEqual(get(client, f"{url}?as=alice").status_code, 200)
                noted = session_of(client)[LOGIN_TIME]
                self.assertTrue(before <= noted <= time.time(), noted)
                self.assertEqual(get(client, "/recent/").content, b"recent alice")

    def test_the_test_clients_logins_note_it_too(self) -> None:
        for client in (Client(), AsyncClient()):
            with self.subTest(client=type(client).__name__):
                client.force_login(self.alice)
                self.assertIn(LOGIN_TIME, session_of(client).load())

    def test_a_login_without_a_request_notes_nothing(self) -> None:
        # Channels' login() sends the signal with request=None.
        user_logged_in.send(sender=User, request=None, user=self.alice)

    def test_the_key_is_the_librarys(self) -> None:
        from async_auth_views.login_time import LOGIN_TIME_SESSION_KEY

        self.assertEqual(LOGIN_TIME_SESSION_KEY, LOGIN_TIME)


@override_settings(ROOT_URLCONF=__name__)
class StolenSessionTests(TestCase):
    """The attack: an old copied cookie, and the real user logging in elsewhere."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")

    def clients(self) -> list[Client | AsyncClient]:
        return [Client(), AsyncClient()]

    def assert_sent_to_log_in(self, client: Client | AsyncClient) -> None:
        for url in PROTECTED:
            with self.subTest(client=type(client).__name__, url=url):
                response = get(client, url)
                self.assertEqual(
                    (response.status_code, response["Location"]),
                    (302, f"/login/?next={url}"),
                )

    def assert_served(self, client: Client | AsyncClient) -> None:
        for url in PROTECTED:
            with self.subTest(client=type(client).__name__, url=url):
                self.assertEqual(get(client, url).content, b"recent alice")

    def test_the_real_users_new_login_does_not_make_an_old_session_recent(
        self,
    ) -> None:
        for thief in self.clients():
            thief.force_login(self.alice)
            age(thief, TWO_HOURS)
            owner = Client()
            owner.force_login(self.alice)  # another device: last_login is now
            self.assert_sent_to_log_in(thief)
            self.assert_served(owner)
            # The thief's session was kept: still alice elsewhere.
            self.assertEqual(get(thief, "/whoami/").content, b"alice")

    def test_a_session_that_does_not_say_when_it_logged_in_is_not_recent(
        self,
    ) -> None:
        # Logged in before the upgrade, or by a path that bypasses login().
        for client in self.clients():
            client.force_login(self.alice)
            age(client, None)
            Client().force_login(self.alice)  # last_login is now
            self.assert_sent_to_log_in(client)

    def test_logging_in_again_in_the_same_session_makes_it_recent(self) -> None:
        for client in self.clients():
            client.force_login(self.alice)
            age(client, TWO_HOURS)
            self.assert_sent_to_log_in(client)
            key = session_of(client).session_key
            get(client, "/log-in/?as=alice")
            # Django keeps the key when the same user logs in again.
            self.assertEqual(session_of(client).session_key, key)
            self.assert_served(client)


LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
CACHES = {
    "default": {**LOCMEM, "LOCATION": "default"},
    "identity": {**LOCMEM, "LOCATION": "identity"},
}


@override_settings(
    ROOT_URLCONF=__name__,
    CACHES=CACHES,
    ASYNC_AUTH_IDENTITY_CACHE="identity",
)
class IdentityCacheHitTests(TestCase):
    """A hit serves the user without loading the session: the rule loads it."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice")

    def setUp(self) -> None:
        caches["identity"].clear()

    def test_an_old_session_is_refused_on_a_hit(self) -> None:
        for url in PROTECTED:
            with self.subTest(url=url):
                client = AsyncClient()
                client.force_login(self.alice)
                self.assertEqual(get(client, url).content, b"recent alice")
                age(client, TWO_HOURS)
                hit = cost_of(client, "get", "/whoami/")
                self.assertNotIn("resolve_user", hit.hops)  # still a hit
                self.assertEqual(get(client, url).status_code, 302)

    def test_a_recent_session_on_a_hit_costs_the_session_load(self) -> None:
        client = AsyncClient()
        client.force_login(self.alice)
        get(client, "/recent/")  # fills the entry
        baseline = cost_of(client, "get", "/whoami/")
        cost = cost_of(client, "get", "/recent/")
        self.assertEqual(cost.response.content, b"recent alice")
        # The session's row, read in one thread hop; a hit reads no other.
        self.assertEqual(cost - baseline, (1, 1))
        self.assertIn("django_session", cost.sql[0])


class WithoutTheAppTests(TestCase):
    """The time is noted even when ``"async_auth_views"`` is not in ``INSTALLED_APPS``."""

    def test_a_project_without_the_app_notes_the_login_time(self) -> None:
        script = textwrap.dedent(
            """
            import django
            from django.conf import settings

            settings.configure(
                INSTALLED_APPS=[
                    "django.contrib.auth",
                    "django.contrib.contenttypes",
                    "django.contrib.sessions",
                ],
                DATABASES={"default": {
                    "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"
                }},
                SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
                SECRET_KEY="x",
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            )
            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            from django.contrib.auth import login
            from django.contrib.auth.models import User
            from django.contrib.sessions.backends.signed_cookies import SessionStore
            from django.test import RequestFactory

            from async_auth_views.mixins import RecentLoginRequiredMixin  # noqa: F401

            request = RequestFactory().get("/")
            request.session = SessionStore()
            login(request, User.objects.create_user("alice"))
            print(sorted(request.session.keys()))
            """
        )
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(f"'{LOGIN_TIME}'", done.stdout)
