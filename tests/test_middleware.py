"""Tests for ``async_auth_views.middleware``.

Each behaviour is tested on the async path (``AsyncClient``, async views) and on
the sync path (``Client``, sync views) side by side. The cost tests are sync
methods so that ``tests.measure.cost_of`` sees the queries run in thread hops.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    SESSION_KEY,
    alogin,
    alogout,
    aupdate_session_auth_hash,
    get_user_model,
)
from django.contrib.auth.decorators import login_not_required, login_required
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.test import AsyncClient, Client, TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils.functional import SimpleLazyObject, empty

from async_auth_views.middleware import AuthenticationMiddleware
from async_auth_views.mixins import PermissionRequiredMixin
from async_auth_views.views import AsyncView
from tests.measure import cost_of
from tests.models import EmailUser

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
OURS = "async_auth_views.middleware.AuthenticationMiddleware"
DJANGO_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
OURS_LOGIN_REQUIRED = "async_auth_views.middleware.LoginRequiredMiddleware"
DJANGO_LOGIN_REQUIRED = "django.contrib.auth.middleware.LoginRequiredMiddleware"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
ALLOW_ALL_BACKEND = "django.contrib.auth.backends.AllowAllUsersModelBackend"
SYNC_ONLY_BACKEND = f"{__name__}.SyncOnlyBackend"
FAILING_BACKEND = f"{__name__}.FailingBackend"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {"user.html": "user={{ user }} request.user={{ request.user }}"},
                )
            ],
        },
    }
]

#: The same engine without Django's auth context processor: no {{ perms }}.
WITHOUT_PERMS = [
    {
        **TEMPLATES[0],
        "OPTIONS": {
            **TEMPLATES[0]["OPTIONS"],
            "context_processors": ["django.template.context_processors.request"],
        },
    }
]


# Third-party backends -------------------------------------------------------


class SyncOnlyBackend:
    """A third-party backend: not a ``BaseBackend`` subclass, no async methods."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        user = User.objects.filter(pk=user_id).first()
        if user is not None:
            user.resolved_by = "SyncOnlyBackend"
        return user


class FailingBackend(SyncOnlyBackend):
    """A backend whose user store is down."""

    def get_user(self, user_id):
        raise RuntimeError("user store unavailable")


# Views ----------------------------------------------------------------------


def _describe(user, auser_is_user):
    return {
        "user": user.get_username() if user.is_authenticated else None,
        "type": type(user).__name__,
        "auser_is_user": auser_is_user,
        "active": user.is_active,
        "resolved_by": getattr(user, "resolved_by", None),
    }


async def whoami(request):
    before = request.user
    auser = await request.auser()
    data = _describe(auser, auser is before)
    data["type"] = type(before).__name__  # type() does not resolve a lazy object
    return JsonResponse(data)


def whoami_sync(request):
    lazy = isinstance(request.user, SimpleLazyObject)
    unresolved = lazy and request.user._wrapped is empty
    request.user.is_authenticated  # noqa: B018  (resolves a lazy user)
    user = request.user._wrapped if lazy else request.user
    auser = async_to_sync(request.auser)()
    data = _describe(user, auser is user)
    data["lazy"] = lazy
    data["unresolved_before_read"] = unresolved
    return JsonResponse(data)


async def plain(request):
    return HttpResponse("plain")


def plain_sync(request):
    return HttpResponse(f"lazy={issubclass(type(request.user), SimpleLazyObject)}")


async def lazy_probe(request):
    # type() never evaluates a lazy object.
    return HttpResponse(f"lazy={issubclass(type(request.user), SimpleLazyObject)}")


async def render_view(request):
    return render(request, "user.html")


async def template_response_view(request):
    return TemplateResponse(request, "user.html")


def render_sync(request):
    return render(request, "user.html")


async def login_as(request, username):
    user = await User.objects.aget(username=username)
    await alogin(request, user, backend=MODEL_BACKEND)
    auser = await request.auser()
    return JsonResponse(
        {
            "auser": auser.get_username(),
            "auser_is_user": auser is request.user,
            "is_new_user": auser is user,
        }
    )


async def logout_view(request):
    await alogout(request)
    auser = await request.auser()
    return JsonResponse(
        {
            "auser_anonymous": auser.is_anonymous,
            "user_anonymous": request.user.is_anonymous,
        }
    )


async def change_password(request):
    user = request.user
    user.set_password("new-password")
    await user.asave()
    await aupdate_session_auth_hash(request, user)
    return HttpResponse("changed")


def change_password_sync(request):
    from django.contrib.auth import update_session_auth_hash

    user = request.user
    user.set_password("new-password")
    user.save()
    update_session_auth_hash(request, user)
    return HttpResponse("changed")


async def private(request):
    return HttpResponse(f"private:{request.user.get_username()}")


def private_sync(request):
    return HttpResponse(f"private:{request.user.get_username()}")


@login_not_required
async def public(request):
    return HttpResponse("public")


@login_not_required
def public_sync(request):
    return HttpResponse("public")


@login_required(login_url="/custom-login/", redirect_field_name="to")
async def decorated(request):
    return HttpResponse("decorated")


@login_required(login_url="/custom-login/", redirect_field_name="to")
def decorated_sync(request):
    return HttpResponse("decorated")


def auser_then_lazy_user_sync(request):
    lazy = request.user
    auser = async_to_sync(request.auser)()
    with CaptureQueriesContext(connection) as queries:
        lazy.get_username()
    return JsonResponse({"queries": len(queries), "same": lazy._wrapped is auser})


class InFlight:
    now = 0
    peak = 0


async def concurrent_view(request):
    before = request.user
    InFlight.now += 1
    InFlight.peak = max(InFlight.peak, InFlight.now)
    await asyncio.sleep(0.001)
    auser = await request.auser()
    InFlight.now -= 1
    if auser is not before or request.user is not before:
        return HttpResponse("user changed during the request", status=500)
    return HttpResponse(auser.get_username())


async def can_add_users(request):
    granted = await request.user.ahas_perms(["auth.add_user"])
    return HttpResponse(f"{request.user.get_username()} {granted}")


can_add_users.preload_permissions = True


class CanAddUsers(PermissionRequiredMixin, AsyncView):
    permission_required = "auth.add_user"
    raise_exception = True
    preload_permissions = False

    async def get(self, request):
        return HttpResponse(f"{request.user.get_username()} True")


urlpatterns = [
    path("whoami/", whoami),
    path("can-add-users/", can_add_users),
    path("can-add-users-not-preloaded/", CanAddUsers.as_view()),
    path("whoami-sync/", whoami_sync),
    path("plain/", plain),
    path("plain-sync/", plain_sync),
    path("lazy/probe/", lazy_probe),
    path("lazy/whoami/", whoami),
    path("lazy/plain/", plain),
    path("x/lazy/probe/", lazy_probe),
    path("render/", render_view),
    path("template-response/", template_response_view),
    path("render-sync/", render_sync),
    path("login-as/<str:username>/", login_as),
    path("logout/", logout_view),
    path("change-password/", change_password),
    path("change-password-sync/", change_password_sync),
    path("private/", private),
    path("private-sync/", private_sync),
    path("public/", public),
    path("public-sync/", public_sync),
    path("decorated/", decorated),
    path("decorated-sync/", decorated_sync),
    path("concurrent/", concurrent_view),
    path("auser-then-lazy-sync/", auser_then_lazy_user_sync),
]


# Helpers --------------------------------------------------------------------


async def async_get_response(request):
    return HttpResponse()


def sync_get_response(request):
    return HttpResponse()


def session_cookie(client):
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return cookie.value if cookie is not None else None


class UsersMixin:
    @classmethod
    def setUpTestData(cls):
        cls.user = User.objects.create_user("alice", password="password")
        cls.other = User.objects.create_user("bob", password="password")


# Django's middleware tests, on both paths -----------------------------------


@override_settings(ROOT_URLCONF=__name__)
class AuthenticationMiddlewareTests(UsersMixin, TestCase):
    """Django's ``auth_tests.test_middleware`` cases, called on the middleware."""

    def setUp(self):
        self.client.force_login(self.user)
        self.request = HttpRequest()
        self.request.session = self.client.session

    def test_user_from_session(self):
        AuthenticationMiddleware(sync_get_response)(self.request)
        self.assertEqual(self.request.user, self.user)
        self.assertFalse(self.request.user.is_anonymous)

    async def test_user_from_session_async(self):
        await AuthenticationMiddleware(async_get_response)(self.request)
        self.assertIs(type(self.request.user), User)
        self.assertEqual(self.request.user, self.user)

    def test_changed_password_invalidates_session(self):
        self.user.set_password("new-password")
        self.user.save()
        AuthenticationMiddleware(sync_get_response)(self.request)
        self.assertTrue(self.request.user.is_anonymous)
        self.assertIsNone(self.request.session.session_key)

    async def test_changed_password_invalidates_session_async(self):
        self.user.set_password("new-password")
        await self.user.asave()
        await AuthenticationMiddleware(async_get_response)(self.request)
        self.assertIsInstance(self.request.user, AnonymousUser)
        self.assertIsNone(self.request.session.session_key)

    def test_no_session(self):
        msg = (
            "The Django authentication middleware requires session middleware to be "
            "installed. Edit your MIDDLEWARE setting to insert "
            f"'{SESSION}' before 'django.contrib.auth.middleware."
            f"AuthenticationMiddleware'. Here that is '{OURS}', which replaces it."
        )
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            AuthenticationMiddleware(sync_get_response)(HttpRequest())

    async def test_no_session_async(self):
        msg = f"Here that is '{OURS}', which replaces it."
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            await AuthenticationMiddleware(async_get_response)(HttpRequest())

    def test_auser(self):
        AuthenticationMiddleware(sync_get_response)(self.request)
        auser = async_to_sync(self.request.auser)()
        self.assertEqual(auser, self.user)
        self.assertIs(async_to_sync(self.request.auser)(), auser)
        # request.user and request.auser() share one cache on the sync path.
        self.request.user.marker = "shared"
        self.assertEqual(auser.marker, "shared")

    async def test_auser_async(self):
        await AuthenticationMiddleware(async_get_response)(self.request)
        auser = await self.request.auser()
        self.assertEqual(auser, self.user)
        self.assertIs(auser, self.request.user)
        self.assertIs(await self.request.auser(), auser)


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[OURS])
class NoSessionMiddlewareTests(TestCase):
    def test_request_fails(self):
        with self.assertRaisesMessage(ImproperlyConfigured, f"Here that is '{OURS}'"):
            self.client.get("/whoami-sync/")

    async def test_request_fails_async(self):
        with self.assertRaisesMessage(ImproperlyConfigured, f"Here that is '{OURS}'"):
            await self.async_client.get("/whoami/")


@override_settings(ROOT_URLCONF=__name__)
class SessionVerificationTests(UsersMixin, TestCase):
    """The session hash checks are Django's, on both paths."""

    def test_user_is_resolved_from_session(self):
        self.client.force_login(self.user)
        self.assertEqual(self.client.get("/whoami-sync/").json()["user"], "alice")

    async def test_user_is_resolved_from_session_async(self):
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get("/whoami/")
        self.assertEqual(response.json()["user"], "alice")

    def test_password_change_logs_out_other_sessions(self):
        other_device = Client()
        other_device.force_login(self.user)
        self.client.force_login(self.user)
        self.client.get("/change-password-sync/")
        self.assertEqual(self.client.get("/whoami-sync/").json()["user"], "alice")
        response = other_device.get("/whoami-sync/")
        self.assertIsNone(response.json()["user"])
        self.assertEqual(response.cookies[settings.SESSION_COOKIE_NAME].value, "")

    async def test_password_change_logs_out_other_sessions_async(self):
        other_device = AsyncClient()
        await other_device.aforce_login(self.user)
        await self.async_client.aforce_login(self.user)
        await self.async_client.get("/change-password/")
        response = await self.async_client.get("/whoami/")
        self.assertEqual(response.json()["user"], "alice")
        response = await other_device.get("/whoami/")
        self.assertIsNone(response.json()["user"])
        self.assertEqual(response.cookies[settings.SESSION_COOKIE_NAME].value, "")

    def _session_without_hash(self):
        session = SessionStore()
        session[SESSION_KEY] = str(self.user.pk)
        session[BACKEND_SESSION_KEY] = MODEL_BACKEND
        session.save()
        return session.session_key

    def test_session_without_hash_is_logged_out(self):
        self.client.cookies[settings.SESSION_COOKIE_NAME] = self._session_without_hash()
        self.assertIsNone(self.client.get("/whoami-sync/").json()["user"])

    async def test_session_without_hash_is_logged_out_async(self):
        key = await self._session_without_hash_async()
        self.async_client.cookies[settings.SESSION_COOKIE_NAME] = key
        response = await self.async_client.get("/whoami/")
        self.assertIsNone(response.json()["user"])
        self.assertEqual(response.json()["type"], "AnonymousUser")

    async def _session_without_hash_async(self):
        session = SessionStore()
        await session.aset(SESSION_KEY, str(self.user.pk))
        await session.aset(BACKEND_SESSION_KEY, MODEL_BACKEND)
        await session.asave()
        return session.session_key

    @override_settings(SECRET_KEY="old-secret")
    def test_secret_key_fallback_keeps_session(self):
        self.client.force_login(self.user)
        old_key = session_cookie(self.client)
        with override_settings(
            SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]
        ):
            self.assertEqual(self.client.get("/whoami-sync/").json()["user"], "alice")
            self.assertNotEqual(session_cookie(self.client), old_key)
        # The session hash was updated with the new secret: no fallback needed.
        with override_settings(SECRET_KEY="new-secret"):
            self.assertEqual(self.client.get("/whoami-sync/").json()["user"], "alice")

    @override_settings(SECRET_KEY="old-secret")
    async def test_secret_key_fallback_keeps_session_async(self):
        await self.async_client.aforce_login(self.user)
        old_key = session_cookie(self.async_client)
        with override_settings(
            SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]
        ):
            response = await self.async_client.get("/whoami/")
            self.assertEqual(response.json()["user"], "alice")
            self.assertNotEqual(session_cookie(self.async_client), old_key)
        with override_settings(SECRET_KEY="new-secret"):
            response = await self.async_client.get("/whoami/")
            self.assertEqual(response.json()["user"], "alice")

    @override_settings(SECRET_KEY="old-secret")
    def test_rotated_secret_key_without_fallback_logs_out(self):
        self.client.force_login(self.user)
        with override_settings(SECRET_KEY="new-secret"):
            self.assertIsNone(self.client.get("/whoami-sync/").json()["user"])

    @override_settings(SECRET_KEY="old-secret")
    async def test_rotated_secret_key_without_fallback_logs_out_async(self):
        await self.async_client.aforce_login(self.user)
        with override_settings(SECRET_KEY="new-secret"):
            response = await self.async_client.get("/whoami/")
            self.assertIsNone(response.json()["user"])


# Eager resolution on the async path, lazy on the sync path ------------------


@override_settings(ROOT_URLCONF=__name__, TEMPLATES=TEMPLATES)
class EagerUserTests(UsersMixin, TestCase):
    def test_sync_view_gets_lazy_user_resolved_on_first_read(self):
        self.client.force_login(self.user)
        with self.assertNumQueries(2):  # the session, then the user
            data = self.client.get("/whoami-sync/").json()
        self.assertEqual(data["user"], "alice")
        self.assertTrue(data["lazy"])
        self.assertTrue(data["unresolved_before_read"])
        # request.auser() returned the user request.user had resolved: no query.
        self.assertTrue(data["auser_is_user"])

    async def test_async_view_gets_concrete_user(self):
        await self.async_client.aforce_login(self.user)
        data = (await self.async_client.get("/whoami/")).json()
        self.assertEqual(data["user"], "alice")
        self.assertEqual(data["type"], "User")
        self.assertTrue(data["auser_is_user"])

    def test_sync_view_not_reading_user_runs_no_query(self):
        self.client.force_login(self.user)
        with self.assertNumQueries(0):
            response = self.client.get("/plain-sync/")
        self.assertEqual(response.content, b"lazy=True")

    def test_anonymous_sync(self):
        data = self.client.get("/whoami-sync/").json()
        self.assertIsNone(data["user"])
        self.assertTrue(data["auser_is_user"])

    async def test_anonymous_async(self):
        data = (await self.async_client.get("/whoami/")).json()
        self.assertIsNone(data["user"])
        self.assertEqual(data["type"], "AnonymousUser")
        self.assertTrue(data["auser_is_user"])

    def test_sync_view_under_async_client_gets_concrete_user(self):
        self.async_client.force_login(self.user)
        response = async_to_sync(self.async_client.get)("/plain-sync/")
        self.assertEqual(response.content, b"lazy=False")

    def test_render_in_sync_view(self):
        self.client.force_login(self.user)
        response = self.client.get("/render-sync/")
        self.assertEqual(response.content, b"user=alice request.user=alice")

    async def test_render_in_async_view(self):
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get("/render/")
        self.assertEqual(response.content, b"user=alice request.user=alice")

    async def test_template_response_in_async_view(self):
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get("/template-response/")
        self.assertEqual(response.content, b"user=alice request.user=alice")

    @override_settings(MIDDLEWARE=[SESSION, DJANGO_AUTH])
    async def test_render_in_async_view_fails_with_djangos_middleware(self):
        # What this library is for: the template reads Django's lazy user in
        # the event loop, which queries the database synchronously.
        await self.async_client.aforce_login(self.user)
        with self.assertRaises(SynchronousOnlyOperation):
            await self.async_client.get("/render/")


@override_settings(ROOT_URLCONF=__name__, TEMPLATES=TEMPLATES)
class CostTests(UsersMixin, TestCase):
    """What the middleware adds to a request: SQL statements and thread hops.

    The baseline is the same request without any authentication middleware.
    """

    def cost(self, path, middleware, user=None, **overrides):
        with override_settings(MIDDLEWARE=middleware, **overrides):
            client = AsyncClient()
            if user is not None:
                client.force_login(user)
            cost = cost_of(client, "get", path)
        self.assertEqual(cost.response.status_code, 200)
        return cost

    def added_cost(self, path, user=None, baseline_path=None, **overrides):
        baseline = self.cost(baseline_path or path, [SESSION], user, **overrides)
        ours = self.cost(path, [SESSION, OURS], user, **overrides)
        return ours - baseline, ours

    def test_anonymous_costs_nothing(self):
        for url in ["/plain/", "/render/", "/template-response/"]:
            with self.subTest(url=url):
                added, _ = self.added_cost(url)
                self.assertEqual(added, (0, 0))

    def test_authenticated_costs_one_hop_and_two_queries(self):
        for url in ["/plain/", "/render/", "/template-response/"]:
            with self.subTest(url=url):
                added, ours = self.added_cost(url, self.user)
                # With the auth context processor, an async handler's user
                # comes with its permissions, for {{ perms }}: one statement more.
                self.assertEqual(added, (3, 1))
                self.assertIn("django_session", ours.sql[0])
                self.assertIn("auth_user", ours.sql[1])
                self.assertIn(" UNION ALL ", ours.sql[2])
                with override_settings(TEMPLATES=WITHOUT_PERMS):
                    added, _ = self.added_cost(url, self.user)
                self.assertEqual(added, (2, 1))
                if url != "/plain/":
                    self.assertEqual(
                        ours.response.content, b"user=alice request.user=alice"
                    )

    def test_rendering_the_user_adds_nothing_to_resolution(self):
        plain = self.cost("/plain/", [SESSION, OURS], self.user)
        rendered = self.cost("/render/", [SESSION, OURS], self.user)
        self.assertEqual(rendered - plain, (0, 0))
        self.assertEqual(rendered.response.content, b"user=alice request.user=alice")

    def test_a_view_that_preloads_permissions_gets_them_in_the_same_hop(self):
        self.user.user_permissions.add(Permission.objects.get(codename="add_user"))
        added, ours = self.added_cost("/can-add-users/", self.user, "/plain/")
        self.assertEqual(ours.response.content, b"alice True")
        self.assertEqual(added, (3, 1))
        self.assertIn(" UNION ALL ", ours.sql[2])

    def test_a_view_that_does_not_preload_pays_for_its_check(self):
        self.user.user_permissions.add(Permission.objects.get(codename="add_user"))
        path = "/can-add-users-not-preloaded/"
        added, ours = self.added_cost(path, self.user, "/plain/")
        self.assertEqual(ours.response.content, b"alice True")
        self.assertEqual(added, (3, 2))

    def test_an_unrouted_path_is_still_resolved(self):
        with override_settings(MIDDLEWARE=[SESSION, OURS]):
            client = AsyncClient()
            client.force_login(self.user)
            cost = cost_of(client, "get", "/no-such-page/")
        self.assertEqual(cost.response.status_code, 404)
        self.assertEqual(len(cost.sql), 2)

    def test_signed_cookie_sessions_cost_one_query(self):
        engine = "django.contrib.sessions.backends.signed_cookies"
        added, ours = self.added_cost("/render/", self.user, SESSION_ENGINE=engine)
        self.assertEqual(added, (2, 1))  # the user row, and its permissions
        self.assertIn("auth_user", ours.sql[0])
        self.assertEqual(ours.response.content, b"user=alice request.user=alice")


@override_settings(ROOT_URLCONF=__name__)
class VaryCookieTests(UsersMixin, TestCase):
    """A response built for a user varies on the session cookie, so that a
    shared cache (a proxy, a CDN) never serves one user's page to another."""

    async def test_anonymous_without_cookie(self):
        response = await self.async_client.get("/whoami/")
        self.assertIsNone(response.json()["user"])
        self.assertIn("Cookie", response.get("Vary", ""))

    async def test_logged_in(self):
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get("/whoami/")
        self.assertEqual(response.json()["user"], "alice")
        self.assertIn("Cookie", response.get("Vary", ""))

    def test_sync_path_as_in_django(self):
        self.client.force_login(self.user)
        response = self.client.get("/whoami-sync/")
        self.assertIn("Cookie", response.get("Vary", ""))


# Django's guarantees about who the user is ----------------------------------


@override_settings(ROOT_URLCONF=__name__)
class DjangoGuaranteesTests(UsersMixin, TestCase):
    def whoami(self):
        return self.client.get("/whoami-sync/").json()

    async def awhoami(self):
        return (await self.async_client.get("/whoami/")).json()

    def test_inactive_user_is_anonymous(self):
        self.client.force_login(self.user)
        User.objects.filter(pk=self.user.pk).update(is_active=False)
        self.assertIsNone(self.whoami()["user"])

    async def test_inactive_user_is_anonymous_async(self):
        await self.async_client.aforce_login(self.user)
        await User.objects.filter(pk=self.user.pk).aupdate(is_active=False)
        self.assertIsNone((await self.awhoami())["user"])

    @override_settings(AUTHENTICATION_BACKENDS=[ALLOW_ALL_BACKEND])
    def test_inactive_user_allowed_by_allow_all_backend(self):
        self.client.force_login(self.user)
        User.objects.filter(pk=self.user.pk).update(is_active=False)
        data = self.whoami()
        self.assertEqual((data["user"], data["active"]), ("alice", False))

    @override_settings(AUTHENTICATION_BACKENDS=[ALLOW_ALL_BACKEND])
    async def test_inactive_user_allowed_by_allow_all_backend_async(self):
        await self.async_client.aforce_login(self.user)
        await User.objects.filter(pk=self.user.pk).aupdate(is_active=False)
        data = await self.awhoami()
        self.assertEqual((data["user"], data["active"]), ("alice", False))

    def test_deleted_user_is_anonymous(self):
        self.client.force_login(self.user)
        User.objects.filter(pk=self.user.pk).delete()
        self.assertIsNone(self.whoami()["user"])

    async def test_deleted_user_is_anonymous_async(self):
        await self.async_client.aforce_login(self.user)
        await User.objects.filter(pk=self.user.pk).adelete()
        self.assertIsNone((await self.awhoami())["user"])

    def test_backend_no_longer_configured_is_anonymous(self):
        self.client.force_login(self.user, backend=MODEL_BACKEND)
        with override_settings(AUTHENTICATION_BACKENDS=[ALLOW_ALL_BACKEND]):
            self.assertIsNone(self.whoami()["user"])

    async def test_backend_no_longer_configured_is_anonymous_async(self):
        await self.async_client.aforce_login(self.user, backend=MODEL_BACKEND)
        with override_settings(AUTHENTICATION_BACKENDS=[ALLOW_ALL_BACKEND]):
            self.assertIsNone((await self.awhoami())["user"])

    @override_settings(AUTH_USER_MODEL="tests.EmailUser")
    def test_custom_user_model(self):
        user = EmailUser.objects.create_user("carol@example.com", "password")
        self.client.force_login(user)
        data = self.whoami()
        self.assertEqual(
            (data["user"], data["type"]), ("carol@example.com", "EmailUser")
        )

    @override_settings(AUTH_USER_MODEL="tests.EmailUser")
    async def test_custom_user_model_async(self):
        user = await EmailUser.objects.acreate(email="carol@example.com")
        self.assertIs(get_user_model(), EmailUser)
        await self.async_client.aforce_login(user)
        data = await self.awhoami()
        self.assertEqual(
            (data["user"], data["type"]), ("carol@example.com", "EmailUser")
        )
        self.assertTrue(data["auser_is_user"])

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL_BACKEND, SYNC_ONLY_BACKEND])
    def test_third_party_sync_only_backend(self):
        self.client.force_login(self.user, backend=SYNC_ONLY_BACKEND)
        data = self.whoami()
        self.assertEqual(
            (data["user"], data["resolved_by"]), ("alice", "SyncOnlyBackend")
        )

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL_BACKEND, SYNC_ONLY_BACKEND])
    async def test_third_party_sync_only_backend_async(self):
        # Django's own aget_user() would call the missing aget_user().
        await self.async_client.aforce_login(self.user, backend=SYNC_ONLY_BACKEND)
        data = await self.awhoami()
        self.assertEqual(
            (data["user"], data["resolved_by"]), ("alice", "SyncOnlyBackend")
        )
        self.assertEqual(data["type"], "User")

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL_BACKEND, FAILING_BACKEND])
    def test_failing_backend_fails_the_request(self):
        self.client.force_login(self.user, backend=FAILING_BACKEND)
        with self.assertRaisesMessage(RuntimeError, "user store unavailable"):
            self.client.get("/whoami-sync/")
        client = Client(raise_request_exception=False)
        client.force_login(self.user, backend=FAILING_BACKEND)
        self.assertEqual(client.get("/whoami-sync/").status_code, 500)

    @override_settings(AUTHENTICATION_BACKENDS=[MODEL_BACKEND, FAILING_BACKEND])
    async def test_failing_backend_fails_the_request_async(self):
        await self.async_client.aforce_login(self.user, backend=FAILING_BACKEND)
        with self.assertRaisesMessage(RuntimeError, "user store unavailable"):
            await self.async_client.get("/plain/")
        client = AsyncClient(raise_request_exception=False)
        await client.aforce_login(self.user, backend=FAILING_BACKEND)
        response = await client.get("/plain/")
        self.assertEqual(response.status_code, 500)
        self.assertNotEqual(response.content, b"plain")


# alogin() and alogout() in an async view -------------------------------------


@override_settings(ROOT_URLCONF=__name__)
class LoginLogoutTests(UsersMixin, TestCase):
    async def test_alogin_from_anonymous(self):
        data = (await self.async_client.get("/login-as/alice/")).json()
        self.assertEqual(
            data, {"auser": "alice", "auser_is_user": True, "is_new_user": True}
        )
        response = await self.async_client.get("/whoami/")
        self.assertEqual(response.json()["user"], "alice")

    async def test_alogin_switches_user(self):
        await self.async_client.aforce_login(self.other)
        old_key = session_cookie(self.async_client)
        data = (await self.async_client.get("/login-as/alice/")).json()
        self.assertEqual(
            data, {"auser": "alice", "auser_is_user": True, "is_new_user": True}
        )
        self.assertNotEqual(session_cookie(self.async_client), old_key)
        response = await self.async_client.get("/whoami/")
        self.assertEqual(response.json()["user"], "alice")

    async def test_alogout(self):
        await self.async_client.aforce_login(self.user)
        data = (await self.async_client.get("/logout/")).json()
        self.assertEqual(data, {"auser_anonymous": True, "user_anonymous": True})
        response = await self.async_client.get("/whoami/")
        self.assertIsNone(response.json()["user"])

    async def test_alogout_anonymous(self):
        data = (await self.async_client.get("/logout/")).json()
        self.assertEqual(data, {"auser_anonymous": True, "user_anonymous": True})


# ASYNC_AUTH_LAZY_PATHS ------------------------------------------------------


@override_settings(ROOT_URLCONF=__name__, ASYNC_AUTH_LAZY_PATHS=[r"/lazy/"])
class LazyPathTests(UsersMixin, TestCase):
    async def test_lazy_path_gets_lazy_user(self):
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get("/lazy/probe/")
        self.assertEqual(response.content, b"lazy=True")

    async def test_other_paths_stay_eager(self):
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get("/x/lazy/probe/")  # re.match, not search
        self.assertEqual(response.content, b"lazy=False")

    def test_sync_path_is_lazy_anyway(self):
        self.client.force_login(self.user)
        self.assertEqual(self.client.get("/plain-sync/").content, b"lazy=True")

    def test_lazy_path_not_reading_user_runs_no_query(self):
        client = AsyncClient()
        client.force_login(self.user)
        lazy = cost_of(client, "get", "/lazy/plain/")
        with override_settings(ASYNC_AUTH_LAZY_PATHS=[]):
            client = AsyncClient()
            client.force_login(self.user)
            eager = cost_of(client, "get", "/lazy/plain/")
        self.assertEqual(lazy.sql, [])
        self.assertEqual(eager - lazy, (3, 1))  # session, user, permissions

    async def test_auser_resolves_lazy_user(self):
        await self.async_client.aforce_login(self.user)
        data = (await self.async_client.get("/lazy/whoami/")).json()
        self.assertEqual(data["user"], "alice")
        self.assertEqual(data["type"], "LazyUser")
        self.assertFalse(data["auser_is_user"])

    @override_settings(ASYNC_AUTH_LAZY_PATHS=[r"/lazy/", "("])
    async def test_invalid_regex(self):
        msg = "ASYNC_AUTH_LAZY_PATHS contains '(', which is not a valid regular"
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            await self.async_client.get("/plain/")

    @override_settings(ASYNC_AUTH_LAZY_PATHS=[r"/lazy/", "("])
    def test_invalid_regex_sync(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "ASYNC_AUTH_LAZY_PATHS"):
            self.client.get("/plain-sync/")

    @override_settings(ASYNC_AUTH_LAZY_PATHS=r"/lazy/")
    async def test_string_instead_of_list(self):
        msg = "ASYNC_AUTH_LAZY_PATHS must be a list of regular expressions, not str '/lazy/'."
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            await self.async_client.get("/plain/")

    @override_settings(ASYNC_AUTH_LAZY_PATHS=r"/lazy/")
    def test_string_instead_of_list_sync(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "not str '/lazy/'"):
            self.client.get("/plain-sync/")


# LoginRequiredMiddleware ----------------------------------------------------


@override_settings(
    ROOT_URLCONF=__name__, MIDDLEWARE=[SESSION, OURS, OURS_LOGIN_REQUIRED]
)
class LoginRequiredMiddlewareTests(UsersMixin, TestCase):
    def test_anonymous_is_redirected(self):
        response = self.client.get("/private-sync/", {"page": "2"})
        self.assertRedirects(
            response,
            "/login/?next=/private-sync/%3Fpage%3D2",
            fetch_redirect_response=False,
        )

    async def test_anonymous_is_redirected_async(self):
        response = await self.async_client.get("/private/", {"page": "2"})
        self.assertRedirects(
            response, "/login/?next=/private/%3Fpage%3D2", fetch_redirect_response=False
        )

    def test_login_not_required_view_is_public(self):
        self.assertEqual(self.client.get("/public-sync/").content, b"public")

    async def test_login_not_required_view_is_public_async(self):
        self.assertEqual((await self.async_client.get("/public/")).content, b"public")

    def test_view_login_url_and_redirect_field_name(self):
        response = self.client.get("/decorated-sync/")
        self.assertRedirects(
            response,
            "/custom-login/?to=/decorated-sync/",
            fetch_redirect_response=False,
        )

    async def test_view_login_url_and_redirect_field_name_async(self):
        response = await self.async_client.get("/decorated/")
        self.assertRedirects(
            response, "/custom-login/?to=/decorated/", fetch_redirect_response=False
        )

    def test_authenticated_passes(self):
        self.client.force_login(self.user)
        self.assertEqual(self.client.get("/private-sync/").content, b"private:alice")
        self.assertEqual(self.client.get("/decorated-sync/").content, b"decorated")

    async def test_authenticated_passes_async(self):
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get("/private/")
        self.assertEqual(response.content, b"private:alice")
        response = await self.async_client.get("/decorated/")
        self.assertEqual(response.content, b"decorated")

    @override_settings(ASYNC_AUTH_LAZY_PATHS=[r"/private/"])
    async def test_lazy_path_is_still_protected_async(self):
        response = await self.async_client.get("/private/")
        self.assertRedirects(
            response, "/login/?next=/private/", fetch_redirect_response=False
        )
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get("/private/")
        self.assertEqual(response.content, b"private:alice")

    def test_process_view_adds_no_thread_hop_async(self):
        def cost(middleware, user=None):
            with override_settings(MIDDLEWARE=middleware):
                client = AsyncClient()
                if user is not None:
                    client.force_login(user)
                return cost_of(client, "get", "/private/")

        for user in (None, self.user):
            with self.subTest(authenticated=user is not None):
                without = cost([SESSION, OURS], user)
                ours = cost([SESSION, OURS, OURS_LOGIN_REQUIRED], user)
                self.assertEqual(ours - without, (0, 0))
                django = cost([SESSION, OURS, DJANGO_LOGIN_REQUIRED], user)
                self.assertEqual(django - without, (0, 1))
                self.assertEqual(ours.response.status_code, django.response.status_code)


# Concurrency ----------------------------------------------------------------


@override_settings(ROOT_URLCONF=__name__)
class ConcurrencyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.users = [User.objects.create_user(f"user{i:02}") for i in range(20)]

    async def test_concurrent_requests_see_only_their_own_user(self):
        async def request(i):
            user = self.users[i % len(self.users)]
            client = AsyncClient()
            await client.aforce_login(user)
            response = await client.get("/concurrent/")
            return user.username, response.status_code, response.content.decode()

        InFlight.now = InFlight.peak = 0
        results = await asyncio.gather(*(request(i) for i in range(300)))
        for username, status, content in results:
            self.assertEqual((status, content), (200, username))
        # The views really did run interleaved.
        self.assertGreater(InFlight.peak, 1)


@override_settings(ROOT_URLCONF=__name__)
class LazyUserSharingTests(UsersMixin, TestCase):
    """A lazy user and auser() share one object, and a bad lazy path is refused."""

    def test_auser_first_fills_lazy_user(self):
        # A reference to request.user taken before request.auser() (by a
        # middleware, a helper) must not query again nor give another object.
        self.client.force_login(self.user)
        data = self.client.get("/auser-then-lazy-sync/").json()
        self.assertEqual(data, {"queries": 0, "same": True})

    @override_settings(ASYNC_AUTH_LAZY_PATHS=[rb"^/health/"])
    def test_bytes_lazy_path_is_improperly_configured(self):
        with self.assertRaises(ImproperlyConfigured):
            async_to_sync(self.async_client.get)("/plain/")
