"""Django's extension points of ``async_auth_views.middleware``, tried as an attacker.

A subclass of ``AuthenticationMiddleware`` whose ``process_request()``
restricts the user, a subclass of ``LoginRequiredMiddleware`` whose
``process_view()`` or hooks exempt or restrict, and a middleware after ours
that re-wraps ``request.user`` (django-otp's ``OTPMiddleware``, the real one).
Each restriction must hold on the sync path (``Client``), the async path
(``AsyncClient``) and ``ASYNC_AUTH_LAZY_PATHS`` paths, however the user is
read: ``request.user``, ``await request.auser()``, this library's mixins,
Django's ``login_required``. Reading the user in an async view or its template
must never query in the event loop (Django raises ``SynchronousOnlyOperation``).
"""

from __future__ import annotations

from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.decorators import login_not_required, login_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseForbidden
from django.template import engines
from django.test import (
    AsyncClient,
    Client,
    RequestFactory,
    TestCase,
    override_settings,
)
from django.urls import path
from django.utils.functional import LazyObject, SimpleLazyObject
from django.views import View
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.decorators import otp_required
from django_otp.plugins.otp_static.models import StaticDevice

from async_auth_views.middleware import (
    AuthenticationMiddleware,
    LoginRequiredMiddleware,
)
from async_auth_views.mixins import LoginRequiredMixin, UserPassesTestMixin
from tests.measure import cost_of

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
OURS = "async_auth_views.middleware.AuthenticationMiddleware"
DJANGO_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
LOGIN_REQUIRED = "async_auth_views.middleware.LoginRequiredMiddleware"
OTP = "django_otp.middleware.OTPMiddleware"
HERE = __name__
LAZY = [r"^/lazy/"]


def _name(user):
    return user.get_username() if user.is_authenticated else ""


def _is_bob(user):
    return user.get_username() == "bob"


# Subclasses of AuthenticationMiddleware: each one refuses bob ----------------


class SyncReplace(AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        if _is_bob(request.user):  # reads the user: a query, in a thread
            request.user = AnonymousUser()


class SyncRaise(AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        if _is_bob(request.user):
            raise PermissionDenied


class SyncRespond(AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        if _is_bob(request.user):
            return HttpResponseForbidden("blocked")
        return None


class SyncWrap(AuthenticationMiddleware):
    """Wraps the user lazily, reading it only when the wrapper is read."""

    def process_request(self, request):
        super().process_request(request)
        inner = request.user
        request.user = SimpleLazyObject(
            lambda: AnonymousUser() if _is_bob(inner) else inner
        )


class Restricted(SimpleLazyObject):
    """A lazy wrapper that adds an attribute of its own, on the wrapper."""

    restricted_by = "wrapper"


class SyncWrapSubclass(AuthenticationMiddleware):
    def process_request(self, request):
        super().process_request(request)
        inner = request.user
        request.user = Restricted(lambda: AnonymousUser() if _is_bob(inner) else inner)


class SyncNoSuper(AuthenticationMiddleware):
    """Never calls super(): sets a concrete user of its own."""

    def process_request(self, request):
        from django.contrib.auth import get_user

        user = get_user(request)
        request.user = AnonymousUser() if _is_bob(user) else user


class AsyncReplace(AuthenticationMiddleware):
    async def process_request(self, request):
        super().process_request(request)
        if _is_bob(await request.auser()):
            request.user = AnonymousUser()


class AsyncRaise(AuthenticationMiddleware):
    async def process_request(self, request):
        super().process_request(request)
        if _is_bob(await request.auser()):
            raise PermissionDenied


class AsyncRespond(AuthenticationMiddleware):
    async def process_request(self, request):
        super().process_request(request)
        if _is_bob(await request.auser()):
            return HttpResponseForbidden("blocked")
        return None


class AsyncWrap(AuthenticationMiddleware):
    async def process_request(self, request):
        super().process_request(request)
        inner = request.user
        request.user = SimpleLazyObject(
            lambda: AnonymousUser() if _is_bob(inner) else inner
        )


class DefReturningCoroutine(AuthenticationMiddleware):
    """A ``def`` that returns a coroutine: judged by what the coroutine does."""

    def process_request(self, request):
        super().process_request(request)
        return self.arestrict(request)

    async def arestrict(self, request):
        if _is_bob(await request.auser()):
            request.user = AnonymousUser()


AUTH_SUBCLASSES = {
    # name: what bob gets ("anonymous": the user is replaced; "403": refused)
    "SyncReplace": "anonymous",
    "SyncRaise": "403",
    "SyncRespond": "403",
    "SyncWrap": "anonymous",
    "SyncWrapSubclass": "anonymous",
    "SyncNoSuper": "anonymous",
    "AsyncReplace": "anonymous",
    "AsyncRaise": "403",
    "AsyncRespond": "403",
    "AsyncWrap": "anonymous",
    "DefReturningCoroutine": "anonymous",
}


class AddsHeader(AuthenticationMiddleware):
    """A subclass that adds ``process_response()``: honoured on both paths."""

    def process_response(self, request, response):
        response["X-User"] = _name(request.user)
        return response


# Views ------------------------------------------------------------------------


async def probe(request):
    """``await request.auser()`` first (as on a lazy path), then ``request.user``."""
    auser = await request.auser()
    return HttpResponse(f"auser={_name(auser)} user={_name(request.user)}")


def probe_sync(request):
    auser = async_to_sync(request.auser)()
    return HttpResponse(f"auser={_name(auser)} user={_name(request.user)}")


async def read(request):
    """Reads ``request.user`` without awaiting anything (eager paths only)."""
    return HttpResponse(f"user={_name(request.user)}")


class Mixin(LoginRequiredMixin, View):
    async def get(self, request):
        return HttpResponse(f"mixin={_name(request.user)}")


class MixinSync(LoginRequiredMixin, View):
    def get(self, request):
        return HttpResponse(f"mixin={_name(request.user)}")


@login_required
async def decorated(request):
    return HttpResponse(f"decorated={_name(await request.auser())}")


@login_required
def decorated_sync(request):
    return HttpResponse(f"decorated={_name(request.user)}")


def _routes(prefix):
    return [
        path(f"{prefix}probe/", probe),
        path(f"{prefix}probe-sync/", probe_sync),
        path(f"{prefix}read/", read),
        path(f"{prefix}mixin/", Mixin.as_view()),
        path(f"{prefix}mixin-sync/", MixinSync.as_view()),
        path(f"{prefix}decorated/", decorated),
        path(f"{prefix}decorated-sync/", decorated_sync),
    ]


# What each view answers a user who is let in, or who is made anonymous.
SERVED = {
    "probe": "auser={0} user={0}",
    "probe-sync": "auser={0} user={0}",
    "read": "user={0}",
    "mixin": "mixin={0}",
    "mixin-sync": "mixin={0}",
    "decorated": "decorated={0}",
    "decorated-sync": "decorated={0}",
}
REDIRECTED = {"mixin", "mixin-sync", "decorated", "decorated-sync"}

# The views each transport can serve: an async view reading Django's lazy user
# without awaiting fails on the sync path (as in Django) and on lazy paths.
TRANSPORTS = {
    "sync": ("", list(SERVED.keys() - {"read"})),
    "async": ("", list(SERVED)),
    "async-lazy-path": ("lazy/", list(SERVED.keys() - {"read"})),
}


class UsersMixin:
    @classmethod
    def setUpTestData(cls):
        cls.alice = User.objects.create_user("alice", is_staff=True)
        cls.bob = User.objects.create_user("bob")


def _get(transport, user, url):
    """One request on ``transport`` as ``user`` (None: anonymous)."""
    if transport == "sync":
        client = Client()
        if user is not None:
            client.force_login(user)
        return client.get(url)
    client = AsyncClient()
    if user is not None:
        client.force_login(user)
    return async_to_sync(client.get)(url)


# AuthenticationMiddleware subclasses ------------------------------------------


@override_settings(ROOT_URLCONF=HERE, ASYNC_AUTH_LAZY_PATHS=LAZY)
class AuthenticationSubclassTests(UsersMixin, TestCase):
    """Every shape of restricting ``process_request()``, on every path and view."""

    def check(self, subclass, refusal):
        with override_settings(MIDDLEWARE=[SESSION, f"{HERE}.{subclass}"]):
            for transport, (prefix, views) in TRANSPORTS.items():
                for view in views:
                    url = f"/{prefix}{view}/"
                    with self.subTest(subclass=subclass, transport=transport, url=url):
                        alice = _get(transport, self.alice, url)
                        self.assertEqual(
                            alice.content.decode(), SERVED[view].format("alice")
                        )
                        bob = _get(transport, self.bob, url)
                        if refusal == "403":
                            self.assertEqual(bob.status_code, 403)
                        elif view in REDIRECTED:
                            self.assertEqual(bob.status_code, 302)
                            self.assertTrue(bob["Location"].startswith("/login/"))
                        else:
                            self.assertEqual(
                                bob.content.decode(), SERVED[view].format("")
                            )

    def test_sync_replace(self):
        self.check("SyncReplace", "anonymous")

    def test_sync_raise(self):
        self.check("SyncRaise", "403")

    def test_sync_respond(self):
        self.check("SyncRespond", "403")

    def test_sync_wrap(self):
        self.check("SyncWrap", "anonymous")

    def test_sync_wrap_in_lazy_subclass(self):
        self.check("SyncWrapSubclass", "anonymous")

    def test_sync_without_super(self):
        self.check("SyncNoSuper", "anonymous")

    def test_async_replace(self):
        self.check("AsyncReplace", "anonymous")

    def test_async_raise(self):
        self.check("AsyncRaise", "403")

    def test_async_respond(self):
        self.check("AsyncRespond", "403")

    def test_async_wrap(self):
        self.check("AsyncWrap", "anonymous")

    def test_def_returning_coroutine(self):
        self.check("DefReturningCoroutine", "anonymous")

    @override_settings(MIDDLEWARE=[SESSION, f"{HERE}.SyncReplace", LOGIN_REQUIRED])
    def test_login_required_middleware_sees_the_restriction(self):
        for transport in ("sync", "async"):
            with self.subTest(transport=transport):
                url = "/probe-sync/" if transport == "sync" else "/read/"
                self.assertEqual(_get(transport, self.bob, url).status_code, 302)
                self.assertEqual(_get(transport, self.alice, url).status_code, 200)

    @override_settings(MIDDLEWARE=[SESSION, f"{HERE}.SyncWrapSubclass"])
    async def test_lazy_subclass_wrapper_is_kept(self):
        # Its own attribute survives the mixins and auser(): nothing strips it.
        client = AsyncClient()
        await client.aforce_login(self.alice)
        response = await client.get("/wrapper/")
        self.assertEqual(response.content, b"wrapper wrapper alice")

    @override_settings(MIDDLEWARE=[SESSION, f"{HERE}.AddsHeader"])
    def test_process_response_runs_on_both_paths(self):
        for transport in ("sync", "async"):
            with self.subTest(transport=transport):
                response = _get(transport, self.alice, "/probe/")
                self.assertEqual(response["X-User"], "alice")

    def test_sync_override_costs_the_same_hop_as_resolution(self):
        # The override and the user's resolution share one thread hop; after
        # it, reading the user costs no query and no hop.
        def cost(middleware):
            with override_settings(MIDDLEWARE=[SESSION, middleware]):
                client = AsyncClient()
                client.force_login(self.alice)
                return cost_of(client, "get", "/read/")

        plain = cost(OURS)
        for subclass in ("SyncReplace", "SyncWrap"):
            with self.subTest(subclass=subclass):
                self.assertEqual(cost(f"{HERE}.{subclass}") - plain, (0, 0))


class WrapperView(LoginRequiredMixin, View):
    async def get(self, request):
        auser = await request.auser()
        return HttpResponse(
            f"{request.user.restricted_by} {auser.restricted_by} {_name(auser)}"
        )


@override_settings(ROOT_URLCONF=HERE)
class AuthenticationSubclassMisuseTests(UsersMixin, TestCase):
    @override_settings(MIDDLEWARE=[SESSION, f"{HERE}.SetsNothing"])
    def test_override_that_sets_no_user_is_a_clear_error(self):
        msg = "SetsNothing.process_request() set no request.user"
        for transport in ("sync", "async"):
            with (
                self.subTest(transport=transport),
                self.assertRaisesMessage(Exception, msg),
            ):
                _get(transport, self.alice, "/probe-sync/")


class SetsNothing(AuthenticationMiddleware):
    def process_request(self, request):
        pass


# LoginRequiredMiddleware subclasses -------------------------------------------


class ExemptsOpen(LoginRequiredMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if "/open/" in request.path_info:
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class StaffOnly(LoginRequiredMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):
        response = super().process_view(request, view_func, view_args, view_kwargs)
        if response is None and not request.user.is_staff:
            raise PermissionDenied
        return response


class AsyncStaffOnly(LoginRequiredMiddleware):
    async def process_view(self, request, view_func, view_args, view_kwargs):
        response = await super().aprocess_view(
            request, view_func, view_args, view_kwargs
        )
        if response is None and not (await request.auser()).is_staff:
            raise PermissionDenied
        return response


class AStaffOnly(LoginRequiredMiddleware):
    """Overrides only the async twin: its rule must hold on the sync path too."""

    async def aprocess_view(self, request, view_func, view_args, view_kwargs):
        response = await super().aprocess_view(
            request, view_func, view_args, view_kwargs
        )
        if response is None and not (await request.auser()).is_staff:
            raise PermissionDenied
        return response


class SyncAndAsyncStaffOnly(StaffOnly, AStaffOnly):
    """Overrides both twins: each path runs its own."""


class Answers401(LoginRequiredMiddleware):
    def handle_no_permission(self, request, view_func):
        # May query: counted in the database, in a thread.
        return HttpResponse(f"401 of {User.objects.count()}", status=401)


class AsyncAnswers401(LoginRequiredMiddleware):
    async def handle_no_permission(self, request, view_func):
        return HttpResponse(f"401 of {await User.objects.acount()}", status=401)


class OtherLoginUrl(LoginRequiredMiddleware):
    def get_login_url(self, view_func):
        return "/other-login/"

    def get_redirect_field_name(self, view_func):
        return "to"


class AsyncOtherLoginUrl(LoginRequiredMiddleware):
    async def get_login_url(self, view_func):
        await User.objects.acount()
        return "/other-login/"

    async def get_redirect_field_name(self, view_func):
        return "to"


async def private(request):
    return HttpResponse(f"private={_name(request.user)}")


def private_sync(request):
    return HttpResponse(f"private={_name(request.user)}")


@login_not_required
async def public(request):
    return HttpResponse("public")


@override_settings(ROOT_URLCONF=HERE, ASYNC_AUTH_LAZY_PATHS=LAZY)
class LoginRequiredSubclassTests(UsersMixin, TestCase):
    """(transport, url) pairs: sync and async views, eager and lazy paths."""

    URLS = (
        ("sync", "/{}private-sync/"),
        ("sync", "/{}private/"),
        ("async", "/{}private/"),
        ("async", "/{}private-sync/"),
        ("async", "/lazy/{}private/"),
    )

    def check(self, middleware, prefix="", *, anonymous=None, bob=None, alice=None):
        """Each URL on each path; ``anonymous``, ``bob``, ``alice`` check a response."""
        with override_settings(MIDDLEWARE=[SESSION, OURS, f"{HERE}.{middleware}"]):
            for transport, url in self.URLS:
                url = url.format(prefix)
                with self.subTest(middleware=middleware, transport=transport, url=url):
                    for user, check in (
                        (None, anonymous),
                        (self.bob, bob),
                        (self.alice, alice),
                    ):
                        if check is not None:
                            check(_get(transport, user, url), url)

    def test_exempted_path_is_public_on_every_path(self):
        def served(response, url):
            self.assertEqual(response.content, b"private=")

        def redirected(response, url):
            self.assertEqual(response.status_code, 302)

        self.check("ExemptsOpen", "open/", anonymous=served)
        self.check("ExemptsOpen", anonymous=redirected)

    def test_added_restriction_holds_on_every_path(self):
        def redirected(response, url):
            self.assertEqual(response.status_code, 302)

        def refused(response, url):
            self.assertEqual(response.status_code, 403)

        def served(response, url):
            self.assertEqual(response.content, b"private=alice")

        for middleware in (
            "StaffOnly",
            "AsyncStaffOnly",
            "AStaffOnly",
            "SyncAndAsyncStaffOnly",
        ):
            self.check(middleware, anonymous=redirected, bob=refused, alice=served)

    def test_handle_no_permission_override(self):
        def answered_401(response, url):
            self.assertEqual(
                (response.status_code, response.content), (401, b"401 of 2")
            )

        def served(response, url):
            self.assertEqual(response.status_code, 200)

        for middleware in ("Answers401", "AsyncAnswers401"):
            self.check(middleware, anonymous=answered_401, bob=served)

    def test_login_url_hooks_override(self):
        def redirected(response, url):
            self.assertEqual(response["Location"], f"/other-login/?to={url}")

        for middleware in ("OtherLoginUrl", "AsyncOtherLoginUrl"):
            self.check(middleware, anonymous=redirected)

    def test_unchanged_subclass_adds_no_thread_hop(self):
        def cost(middleware):
            with override_settings(MIDDLEWARE=[SESSION, OURS, middleware]):
                return cost_of(AsyncClient(), "get", "/private/")

        subclass = cost(f"{HERE}.Unchanged")
        self.assertEqual(subclass - cost(LOGIN_REQUIRED), (0, 0))
        self.assertEqual(subclass.response["Location"], "/login/?to=/private/")


class Unchanged(LoginRequiredMiddleware):
    redirect_field_name = "to"


# A middleware after ours that re-wraps request.user: django-otp -------------


def _verified(user):
    return f"{_name(user)}:{user.is_verified()}"


async def otp_read(request):
    # No await: the view reads the wrapped user as sync code would.
    return HttpResponse(_verified(request.user))


async def otp_auser(request):
    user = await request.auser()
    return HttpResponse(f"{_verified(user)} {_verified(request.user)}")


def otp_sync(request):
    auser = async_to_sync(request.auser)()
    return HttpResponse(f"{_verified(request.user)} {_verified(auser)}")


OTP_TEMPLATE = engines["django"].from_string(
    "{{ user.is_verified }} {{ request.user.is_verified }}"
)


async def otp_template(request):
    return HttpResponse(OTP_TEMPLATE.render({"user": request.user}, request))


class OtpMixin(LoginRequiredMixin, View):
    async def get(self, request):
        return HttpResponse(_verified(request.user))


class OtpTestFunc(UserPassesTestMixin, View):
    raise_exception = True

    def test_func(self):  # a plain def hook reads the wrapper
        return self.request.user.is_verified()

    async def get(self, request):
        return HttpResponse(_verified(request.user))


class OtpAsyncTestFunc(OtpTestFunc):
    async def test_func(self):
        return (await self.request.auser()).is_verified()


@otp_required(login_url="/otp-login/")
async def otp_decorated(request):
    return HttpResponse(_verified(await request.auser()))


OTP_VIEWS = {
    "otp-read": otp_read,
    "otp-auser": otp_auser,
    "otp-sync": otp_sync,
    "otp-template": otp_template,
    "otp-mixin": OtpMixin.as_view(),
    "otp-test-func": OtpTestFunc.as_view(),
    "otp-async-test-func": OtpAsyncTestFunc.as_view(),
    "otp-decorated": otp_decorated,
}


@override_settings(
    ROOT_URLCONF=HERE,
    MIDDLEWARE=[SESSION, OURS, OTP],
    ASYNC_AUTH_LAZY_PATHS=LAZY,
)
class OTPMiddlewareTests(UsersMixin, TestCase):
    """django-otp's real ``OTPMiddleware`` after ours."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.device = StaticDevice.objects.create(user=cls.alice, name="backup")
        cls.bob_device = StaticDevice.objects.create(user=cls.bob, name="backup")

    def client_for(self, transport, user, device=None):
        client = Client() if transport == "sync" else AsyncClient()
        if user is not None:
            client.force_login(user)
            if device is not None:
                session = client.session
                session[DEVICE_ID_SESSION_KEY] = device.persistent_id
                session.save()
        return client

    def get(self, client, url):
        if isinstance(client, AsyncClient):
            return async_to_sync(client.get)(url)
        return client.get(url)

    def expect(self, url, who, verified):
        """What ``url`` answers ``who`` (a username, "" for anonymous)."""
        name = url.strip("/").split("/")[-1]
        me = f"{who}:{verified}"
        if name == "otp-template":
            return 200, f"{verified} {verified}"
        if name in ("otp-auser", "otp-sync"):
            return 200, f"{me} {me}"
        if name in ("otp-test-func", "otp-async-test-func"):
            return (200, me) if verified else (403, None)
        if name == "otp-decorated":
            return (200, me) if verified else (302, None)
        if name == "otp-mixin" and not who:
            return 302, None
        return 200, me

    def cases(self):
        eager = list(OTP_VIEWS)
        # On a lazy path, reading the wrapper without awaiting fails, as in Django.
        lazy = [f"lazy/{v}" for v in OTP_VIEWS if v not in ("otp-read", "otp-template")]
        return [
            ("async", [f"/{v}/" for v in eager] + [f"/{v}/" for v in lazy]),
            # Under WSGI an async view reading a lazy user fails, as in Django.
            (
                "sync",
                [f"/{v}/" for v in OTP_VIEWS if v not in ("otp-read", "otp-template")],
            ),
        ]

    def test_verified_unverified_and_anonymous(self):
        users = [
            ("alice", self.alice, self.device, True),
            ("alice-unverified", self.alice, None, False),
            ("", None, None, False),
        ]
        for transport, urls in self.cases():
            for label, user, device, verified in users:
                for url in urls:
                    with self.subTest(transport=transport, user=label, url=url):
                        client = self.client_for(transport, user, device)
                        response = self.get(client, url)
                        who = "alice" if user is not None else ""
                        status, content = self.expect(url, who, verified)
                        self.assertEqual(response.status_code, status)
                        if content is not None:
                            self.assertEqual(response.content.decode(), content)

    def test_another_users_device_does_not_verify(self):
        # OTP binds the device to its user: a forged session entry is refused.
        for transport, urls in self.cases():
            for url in urls:
                with self.subTest(transport=transport, url=url):
                    client = self.client_for(transport, self.alice, self.bob_device)
                    status, content = self.expect(url, "alice", False)
                    response = self.get(client, url)
                    self.assertEqual(response.status_code, status)
                    if content is not None:
                        self.assertEqual(response.content.decode(), content)

    @override_settings(MIDDLEWARE=[SESSION, OURS, OTP, LOGIN_REQUIRED])
    def test_login_required_middleware(self):
        for transport in ("sync", "async"):
            with self.subTest(transport=transport):
                client = self.client_for(transport, None)
                self.assertEqual(self.get(client, "/otp-sync/").status_code, 302)
                client = self.client_for(transport, self.alice, self.device)
                self.assertEqual(
                    self.get(client, "/otp-sync/").content, b"alice:True alice:True"
                )

    def test_subclass_view_hooks_still_resolve_the_wrapper(self):
        for middleware in ("SyncViewHook", "AsyncViewHook"):
            with (
                self.subTest(middleware=middleware),
                override_settings(MIDDLEWARE=[SESSION, f"{HERE}.{middleware}", OTP]),
            ):
                client = self.client_for("async", self.alice, self.device)
                response = self.get(client, "/otp-read/")
                self.assertEqual(response.content, b"alice:True")
                self.assertEqual(response["X-View-Hook"], middleware)

    def test_cost_of_the_wrapper(self):
        # OTP's wrapper is read in one more thread hop, with its device query.
        def cost(middleware, device):
            with override_settings(MIDDLEWARE=middleware):
                client = AsyncClient()
                client.force_login(self.alice)
                if device is not None:
                    session = client.session
                    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
                    session.save()
                return cost_of(client, "get", "/otp-read/")

        without = cost([SESSION, OURS, f"{HERE}.stub_verified"], None)
        self.assertEqual(without.response.content, b"alice:False")
        unverified = cost([SESSION, OURS, OTP], None)
        self.assertEqual(unverified.response.content, b"alice:False")
        self.assertEqual(unverified - without, (0, 1))
        verified = cost([SESSION, OURS, OTP], self.device)
        self.assertEqual(verified.response.content, b"alice:True")
        self.assertEqual(verified - without, (1, 1))


class SyncViewHook(AuthenticationMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):
        request.view_hook = type(self).__name__
        return super().process_view(request, view_func, view_args, view_kwargs)

    def process_response(self, request, response):
        response["X-View-Hook"] = getattr(request, "view_hook", "")
        return response


class AsyncViewHook(SyncViewHook):
    async def aprocess_view(self, request, view_func, view_args, view_kwargs):
        request.view_hook = type(self).__name__
        return await super().aprocess_view(request, view_func, view_args, view_kwargs)


def stub_verified(get_response):
    """A concrete ``is_verified`` with no wrapper: the baseline for the cost test."""

    async def middleware(request):
        request.user.is_verified = lambda: False
        return await get_response(request)

    return middleware


stub_verified.async_capable = True
stub_verified.sync_capable = False


# A middleware after ours that wraps request.user only (not auser) -----------


class WrapsUserOnly:
    """Refuses bob by re-wrapping ``request.user`` and leaving ``auser()`` alone.

    An older django-otp, django-impersonate and many project middlewares do so.
    ``request.auser()`` and the mixins must not strip the wrapper.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction

        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def wrap(self, request):
        inner = request.user
        request.user = SimpleLazyObject(
            lambda: AnonymousUser() if _is_bob(inner) else inner
        )

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        self.wrap(request)
        return self.get_response(request)

    async def __acall__(self, request):
        self.wrap(request)
        return await self.get_response(request)


@override_settings(ROOT_URLCONF=HERE, ASYNC_AUTH_LAZY_PATHS=LAZY)
class UserOnlyWrapperTests(UsersMixin, TestCase):
    def check(self, auth):
        with override_settings(MIDDLEWARE=[SESSION, auth, f"{HERE}.WrapsUserOnly"]):
            for transport, (prefix, views) in TRANSPORTS.items():
                for view in views:
                    if auth == DJANGO_AUTH and view in ("probe", "probe-sync"):
                        continue  # Django's auser() has a cache of its own
                    if auth == DJANGO_AUTH and view.startswith("decorated"):
                        continue  # Django's login_required judges that auser()
                    if auth == DJANGO_AUTH and view == "read":
                        continue  # Django's lazy user queries in the event loop
                    url = f"/{prefix}{view}/"
                    with self.subTest(auth=auth, transport=transport, url=url):
                        alice = _get(transport, self.alice, url)
                        self.assertEqual(
                            alice.content.decode(), SERVED[view].format("alice")
                        )
                        bob = _get(transport, self.bob, url)
                        if view in REDIRECTED:
                            self.assertEqual(bob.status_code, 302)
                        else:
                            self.assertEqual(
                                bob.content.decode(), SERVED[view].format("")
                            )

    def test_after_our_middleware(self):
        self.check(OURS)

    def test_after_djangos_middleware(self):
        # The mixins judge request.user: the wrapper is honoured even where
        # Django's own request.auser() would not see it.
        self.check(DJANGO_AUTH)


class FailingWrapper(WrapsUserOnly):
    """A wrapper whose own store is down when the user is read."""

    def wrap(self, request):
        def fail():
            raise RuntimeError("device store unavailable")

        request.user = SimpleLazyObject(fail)


@override_settings(
    ROOT_URLCONF=HERE,
    MIDDLEWARE=[SESSION, OURS, f"{HERE}.FailingWrapper"],
    ASYNC_AUTH_LAZY_PATHS=LAZY,
)
class FailingWrapperTests(UsersMixin, TestCase):
    def test_view_is_not_served(self):
        # Fail closed: the error propagates (Django answers 500), never the view.
        for transport, (prefix, views) in TRANSPORTS.items():
            for view in views:
                url = f"/{prefix}{view}/"
                with (
                    self.subTest(transport=transport, url=url),
                    self.assertRaisesMessage(RuntimeError, "device store unavailable"),
                ):
                    _get(transport, self.alice, url)


class LazyProxyTests(UsersMixin, TestCase):
    """Deciding whether request.user is lazy never reads it."""

    async def test_type_checks_do_not_resolve_a_foreign_lazy_object(self):
        from async_auth_views.resolver import arequest_user

        calls = []

        def load():
            calls.append("loaded")
            return self.alice

        request = RequestFactory().get("/")
        request.user = SimpleLazyObject(load)
        user = await arequest_user(request)
        self.assertEqual(user, self.alice)
        # Loaded once, in a thread, and replaced by the user it held.
        self.assertEqual(calls, ["loaded"])
        self.assertIs(type(request.user), User)
        self.assertFalse(isinstance(request.user, LazyObject))
        self.assertIs(await sync_to_async(lambda: request.user)(), user)


urlpatterns = [
    *_routes(""),
    *_routes("lazy/"),
    path("wrapper/", WrapperView.as_view()),
    path("private/", private),
    path("private-sync/", private_sync),
    path("open/private/", private),
    path("open/private-sync/", private_sync),
    path("lazy/private/", private),
    path("lazy/open/private/", private),
    path("public/", public),
    path("lazy/public/", public),
    *(path(f"{name}/", view) for name, view in OTP_VIEWS.items()),
    *(path(f"lazy/{name}/", view) for name, view in OTP_VIEWS.items()),
]
