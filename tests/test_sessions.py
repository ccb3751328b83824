"""Tests for ``async_auth_views.sessions``: Django's ``SessionMiddleware``, native on the async path.

Django's own ``SessionMiddlewareTests`` (vendored in ``tests/django_tests``) run
against ours on the sync and the async path, with every session engine Django
ships. Then what the async path costs: thread hops and SQL per request, counted
with ``tests.measure`` from sync test methods.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib.auth import alogin, alogout
from django.contrib.auth import mixins as django_mixins
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.backends.file import SessionStore as FileSession
from django.contrib.sessions.middleware import (
    SessionMiddleware as DjangoSessionMiddleware,
)
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, TestCase, override_settings
from django.urls import path
from django.views import View

from async_auth_views import middleware as our_middleware
from async_auth_views import mixins as our_mixins
from async_auth_views.sessions import SessionMiddleware, saves_session
from async_auth_views.views import AsyncView
from tests.django_tests import sessions_middleware as django_tests
from tests.measure import Cost, cost_of

DJANGO_SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
DJANGO_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
OUR_SESSION = "async_auth_views.middleware.SessionMiddleware"
OUR_AUTH = "async_auth_views.middleware.AuthenticationMiddleware"
ENGINES = ("db", "cached_db", "cache", "file", "signed_cookies")
PERMISSIONS = ("auth.add_user", "auth.change_user")


# Django's tests, on both paths, with every engine ---------------------------


class OnTheAsyncPath:
    """Our middleware on the async path, called the way Django's tests call theirs.

    The view runs in a thread, as Django runs a sync view under ASGI, so only
    the middleware's own steps run in the event loop, where the ORM refuses
    database access.
    """

    def __init__(self, get_response):
        self.middleware = SessionMiddleware(sync_to_async(get_response))
        assert self.middleware.async_mode

    def __call__(self, request):
        return async_to_sync(self.middleware)(request)

    def process_response(self, request, response):
        return self.middleware.process_response(request, response)


@contextmanager
def session_engine(engine: str) -> Iterator[None]:
    """Django's ``engine`` in settings, with the file engine in a new directory."""
    with (
        tempfile.TemporaryDirectory() as files,
        override_settings(
            SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}",
            SESSION_FILE_PATH=files,
        ),
    ):
        # The file engine keeps the first directory it saw in a class attribute.
        _forget_storage_path()
        try:
            yield
        finally:
            _forget_storage_path()


def _forget_storage_path() -> None:
    if "_storage_path" in vars(FileSession):
        del FileSession._storage_path


def _django_tests(engine: str, middleware: type) -> type:
    class Tests(django_tests.SessionMiddlewareTests):
        def setUp(self):
            super().setUp()
            engine_settings = session_engine(engine)
            engine_settings.__enter__()
            self.addCleanup(engine_settings.__exit__, None, None, None)
            swapped = django_tests.SessionMiddleware
            django_tests.SessionMiddleware = middleware
            self.addCleanup(setattr, django_tests, "SessionMiddleware", swapped)

    if engine in ("cache", "file", "signed_cookies"):
        # It reads the saved session back from the Session table, which these
        # engines do not use (it fails with Django's own middleware too).
        Tests.test_empty_session_saved = None  # type: ignore[assignment]
    return Tests


for _engine in ENGINES:
    for _path, _middleware in (("Sync", SessionMiddleware), ("Async", OnTheAsyncPath)):
        _name = f"Django{_path}SessionMiddlewareTests_{_engine}"
        globals()[_name] = type(_name, (_django_tests(_engine, _middleware),), {})


# Views -----------------------------------------------------------------------


async def plain(request):
    return HttpResponse("plain")


async def read_session(request):
    return HttpResponse(str(await request.session.aget("note")))


async def write_session(request):
    await request.session.aset("note", request.GET.get("note", "written"))
    return HttpResponse("written")


async def log_in(request):
    await alogin(request, await User.objects.aget(username="alice"))
    return HttpResponse("logged in")


async def log_out(request):
    await alogout(request)
    return HttpResponse("logged out")


async def who(request):
    return HttpResponse(request.user.get_username() or "anonymous")


class Ours(
    our_mixins.LoginRequiredMixin, our_mixins.PermissionRequiredMixin, AsyncView
):
    permission_required = PERMISSIONS

    async def get(self, request):
        return HttpResponse("ok")


class DjangoSyncMixins(
    django_mixins.LoginRequiredMixin, django_mixins.PermissionRequiredMixin, View
):
    permission_required = PERMISSIONS

    def get(self, request):
        return HttpResponse("ok")


@login_required
@permission_required(PERMISSIONS)
async def django_async_decorators(request):
    return HttpResponse("ok")


async def write_a_deleted_session(request):
    # As a logout in a concurrent request would: the row goes, the key stays.
    await Session.objects.filter(session_key=request.session.session_key).adelete()
    await request.session.aset("note", "too late")
    return HttpResponse("written")


urlpatterns = [
    path("plain/", plain),
    path("read/", read_session),
    path("write/", write_session),
    path("login/", log_in),
    path("logout/", log_out),
    path("who/", who),
    path("ours/", Ours.as_view()),
    path("django-sync-mixins/", DjangoSyncMixins.as_view()),
    path("django-async-decorators/", django_async_decorators),
    path("write-deleted/", write_a_deleted_session),
]


class UsersMixin:
    @classmethod
    def setUpTestData(cls):
        cls.user = User.objects.create_user("alice", password="password")
        cls.user.user_permissions.add(
            *(Permission.objects.get(codename=p.split(".")[1]) for p in PERMISSIONS)
        )


# The async path, through Django's handler -----------------------------------


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[OUR_SESSION, OUR_AUTH])
class AsyncPathTests(UsersMixin, TestCase):
    def test_reexported_from_middleware(self):
        self.assertIs(our_middleware.SessionMiddleware, SessionMiddleware)
        self.assertTrue(issubclass(SessionMiddleware, DjangoSessionMiddleware))

    async def test_login_sets_the_cookie_and_the_next_request_is_logged_in(self):
        response = await self.async_client.get("/login/")
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        self.assertTrue(cookie.value)
        self.assertEqual(response["Vary"], "Cookie")
        self.assertEqual((await self.async_client.get("/who/")).content, b"alice")

    async def test_logout_deletes_the_cookie_and_the_session(self):
        await self.async_client.get("/login/")
        key = self.async_client.cookies[settings.SESSION_COOKIE_NAME].value
        response = await self.async_client.get("/logout/")
        # alogout() flushes: the session is empty, and saved under a new key.
        self.assertNotEqual(response.cookies[settings.SESSION_COOKIE_NAME].value, key)
        self.assertFalse(await Session.objects.filter(session_key=key).aexists())
        self.assertEqual((await self.async_client.get("/who/")).content, b"anonymous")

    async def test_every_engine_round_trips(self):
        for engine in ENGINES:
            with self.subTest(engine=engine), session_engine(engine):
                client = AsyncClient()
                await client.get("/write/", {"note": engine})
                self.assertEqual((await client.get("/read/")).content, engine.encode())
                await client.get("/login/")
                self.assertEqual((await client.get("/who/")).content, b"alice")

    async def test_session_deleted_during_the_request_is_a_400(self):
        # SessionInterrupted is a BadRequest: Django answers 400, as it does
        # with its own middleware.
        await self.async_client.get("/write/")
        response = await self.async_client.get("/write-deleted/")
        self.assertEqual(response.status_code, 400)

    @override_settings(SESSION_COOKIE_AGE=60, SESSION_SAVE_EVERY_REQUEST=True)
    async def test_save_every_request_refreshes_the_cookie(self):
        await self.async_client.get("/write/")
        response = await self.async_client.get("/plain/")
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        self.assertEqual(cookie["max-age"], 60)


class SubclassTests(UsersMixin, TestCase):
    async def test_overridden_process_request_runs_in_a_thread(self):
        class Counting(SessionMiddleware):
            def process_request(self, request):
                request.sessions_before = Session.objects.count()  # a query
                super().process_request(request)

        request = HttpRequest()
        seen = {}

        async def view(request):
            seen["before"] = request.sessions_before
            return HttpResponse()

        await Counting(view)(request)
        self.assertEqual(seen, {"before": 0})

    async def test_overridden_process_response_runs_in_a_thread(self):
        class Counting(SessionMiddleware):
            def process_response(self, request, response):
                response["X-Sessions"] = str(Session.objects.count())
                return super().process_response(request, response)

        async def view(request):
            return HttpResponse()

        response = await Counting(view)(HttpRequest())
        self.assertEqual(response["X-Sessions"], "0")


class SavesSessionTests(TestCase):
    def request(self, session):
        request = HttpRequest()
        if session is not None:
            request.session = session
        return request

    def test_no_session(self):
        self.assertIs(saves_session(self.request(None)), False)

    def test_not_a_session(self):
        self.assertIs(saves_session(self.request(object())), False)

    def test_untouched(self):
        store = SessionMiddleware(plain).SessionStore("x" * 32)
        self.assertIs(saves_session(self.request(store)), False)
        with self.settings(SESSION_SAVE_EVERY_REQUEST=True):
            self.assertIs(saves_session(self.request(store)), True)

    def test_modified(self):
        store = SessionMiddleware(plain).SessionStore()
        store["note"] = "x"
        self.assertIs(saves_session(self.request(store)), True)

    def test_emptied(self):
        # Flushed: the cookie is deleted, nothing is saved.
        store = SessionMiddleware(plain).SessionStore()
        store.flush()
        self.assertIs(saves_session(self.request(store)), False)


# What a request costs ---------------------------------------------------------


# The middlewares' own cost: with no {{ perms }} in templates, which would load
# an async handler's permissions with its user (tests/test_templates.py).
@override_settings(ROOT_URLCONF=__name__, TEMPLATES=[])
class CostTests(UsersMixin, TestCase):
    """Whole-request thread hops and SQL, ours against Django's stack."""

    def cost(self, path, middleware, logged_in=False, **overrides) -> Cost:
        with override_settings(MIDDLEWARE=middleware, **overrides):
            client = AsyncClient()
            if logged_in:
                client.force_login(self.user)
            cost = cost_of(client, "get", path)
        self.assertLess(cost.response.status_code, 400, cost.response)
        return cost

    def test_no_cookie_neither_middleware_hops(self):
        bare = self.cost("/plain/", [])
        ours = self.cost("/plain/", [OUR_SESSION, OUR_AUTH])
        self.assertEqual(ours - bare, (0, 0))
        djangos = self.cost("/plain/", [DJANGO_SESSION, OUR_AUTH])
        self.assertEqual(djangos - bare, (0, 2))

    def test_logged_in_the_session_loads_in_the_users_hop(self):
        bare = self.cost("/plain/", [])
        ours = self.cost("/plain/", [OUR_SESSION, OUR_AUTH], logged_in=True)
        self.assertEqual(ours - bare, (2, 1))
        self.assertEqual(sorted(ours.hops), sorted([*bare.hops, "resolve_user"]))
        self.assertIn("django_session", ours.sql[0])

    def test_login_and_two_permissions(self):
        ours = self.cost("/ours/", [OUR_SESSION, OUR_AUTH], logged_in=True)
        self.assertEqual(ours.response.status_code, 200)
        bare = self.cost("/plain/", [])
        self.assertEqual(ours - bare, (3, 1))
        for url in ("/django-sync-mixins/", "/django-async-decorators/"):
            with self.subTest(djangos=url):
                djangos = self.cost(url, [DJANGO_SESSION, DJANGO_AUTH], logged_in=True)
                self.assertEqual(djangos.response.status_code, 200)
                self.assertLessEqual(len(ours.hops), len(djangos.hops) - 2)

    def test_a_write_saves_in_one_hop(self):
        bare = self.cost("/plain/", [])
        ours = self.cost("/write/", [OUR_SESSION, OUR_AUTH])
        # The write itself (aset) does no I/O for a new session; the save is
        # one hop: a key is chosen (one SELECT) and the row inserted.
        self.assertEqual(
            sorted(ours.hops),
            sorted([*bare.hops, "SessionMiddleware.process_response"]),
        )
        self.assertTrue(any("INSERT" in sql for sql in ours.sql))

    def test_save_every_request_saves_in_one_hop(self):
        bare = self.cost("/plain/", [])
        ours = self.cost(
            "/plain/",
            [OUR_SESSION, OUR_AUTH],
            logged_in=True,
            SESSION_SAVE_EVERY_REQUEST=True,
        )
        self.assertEqual(
            sorted(ours.hops),
            sorted([*bare.hops, "resolve_user", "SessionMiddleware.process_response"]),
        )
