"""Bad input, case by case: session cookies, session data and users that must not
log anybody in.

Every case requests a page protected by ``LoginRequiredMixin`` on the async path
(``AsyncClient``, an ``async def`` view) and the sync path (``Client``, a sync
view), through the whole middleware stack. A case either logs nobody in (the
login redirect), logs in exactly the user the session names (200), or, where
Django's own middleware raises too, answers 500; it never answers 200 for a
user the session does not validly name, and never lets an exception escape as
anything but a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
)
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from async_auth_views.channels import LoginRequiredMixin
from tests.channels.consumers import CONNECTED, app, ws_consumer
from tests.channels.support import ChannelsTestCase
from tests.measure import counting_hops

from .asgi import asgi_get
from .faults import MODEL_BACKEND

# Committed rows: Django's ASGI handler reads them on its own threads' connections.
pytestmark = pytest.mark.django_db(transaction=True)

ANONYMOUS = "anonymous"  # the login redirect
ERROR = "error"  # 500, as under Django's own middleware
PATHS = {"async": "/async/login/", "sync": "/sync/login/"}
REMOTE = "django.contrib.auth.backends.RemoteUserBackend"
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
DJANGO_AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


@pytest.fixture(autouse=True)
def _urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.reliability.urls"


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password="alice-pass")


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", password="bob-pass")


def stored_session(**data: Any) -> str:
    """Save a session holding ``data`` (None values left out); return its key."""
    session = SessionStore()
    session.update({key: value for key, value in data.items() if value is not None})
    session.create()
    return str(session.session_key)


def login_data(user: User, **overrides: Any) -> dict[str, Any]:
    """What ``login()`` stores in the session for ``user``, with ``overrides``."""
    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: MODEL_BACKEND,
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
    return {**data, **overrides}


def fetch(kind: str, cookie: str | None) -> Any:
    """GET the protected page of ``kind`` with ``cookie`` as the raw Cookie header:
    through Django's ASGI handler (the async path) or its test ``Client`` (sync)."""
    if kind == "async":
        headers = [(b"cookie", cookie.encode("latin-1"))] if cookie is not None else []
        return asgi_get(PATHS[kind], headers)
    headers = {"cookie": cookie} if cookie is not None else {}
    return Client(raise_request_exception=False).get(PATHS[kind], headers=headers)


def assert_outcome(response: Any, kind: str, expected: str) -> None:
    if expected == ANONYMOUS:
        assert response.status_code == 302, response.content
        assert response["Location"] == f"/login/?next={PATHS[kind]}"
    elif expected == ERROR:
        assert response.status_code == 500
        assert b"served" not in response.content
    else:
        assert response.status_code == 200
        assert response.content == f"served {expected}".encode()


def sid(value: str) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={value}"


# Session cookies ------------------------------------------------------------


def _expired_session_of(bob: User) -> str:
    key = stored_session(**login_data(bob))
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(1))
    return sid(key)


@dataclass(frozen=True)
class CookieCase:
    id: str
    cookie: Callable[[User], str | None]


COOKIE_CASES = [
    CookieCase("absent", lambda bob: None),
    CookieCase("empty", lambda bob: sid("")),
    CookieCase("garbage", lambda bob: sid("!!not-a-session-key!!")),
    CookieCase("oversized-5KB", lambda bob: sid("a" * 5000)),
    CookieCase("non-ascii", lambda bob: sid("s\xe9ssion\xff\xfe-key")),
    CookieCase("control-chars", lambda bob: sid("abc\x00\x01def123456")),
    CookieCase("no-equals-sign", lambda bob: "sessionid"),
    CookieCase("unknown-key", lambda bob: sid("k" * 32)),
    CookieCase("expired-session-of-another-user", _expired_session_of),
    CookieCase("two-cookies-both-bad", lambda bob: f"{sid('x' * 32)}; {sid('')}"),
]


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize("case", COOKIE_CASES, ids=lambda case: case.id)
def test_bad_session_cookie_logs_nobody_in(
    case: CookieCase, kind: str, alice: User, bob: User
) -> None:
    response = fetch(kind, case.cookie(bob))
    assert_outcome(response, kind, ANONYMOUS)


# Session data ---------------------------------------------------------------


@dataclass(frozen=True)
class DataCase:
    id: str
    overrides: Callable[[], dict[str, Any]]
    expected: str
    flushed: bool = False  # the session names a user it cannot verify


def _bobs_hash() -> dict[str, Any]:
    return {HASH_SESSION_KEY: User.objects.get(username="bob").get_session_auth_hash()}


DATA_CASES = [
    DataCase("valid", dict, "alice"),
    DataCase("user-id-wrong-type", lambda: {SESSION_KEY: "x"}, ERROR),
    DataCase("user-id-a-list", lambda: {SESSION_KEY: [1]}, ERROR),
    DataCase("user-id-of-no-user", lambda: {SESSION_KEY: "99999"}, ANONYMOUS),
    DataCase("user-id-missing", lambda: {SESSION_KEY: None}, ANONYMOUS),
    DataCase(
        "backend-not-configured", lambda: {BACKEND_SESSION_KEY: REMOTE}, ANONYMOUS
    ),
    DataCase("backend-not-importable", lambda: {BACKEND_SESSION_KEY: "x.Y"}, ANONYMOUS),
    DataCase("backend-missing", lambda: {BACKEND_SESSION_KEY: None}, ANONYMOUS),
    DataCase("hash-missing", lambda: {HASH_SESSION_KEY: None}, ANONYMOUS, True),
    DataCase("hash-wrong", lambda: {HASH_SESSION_KEY: "0" * 64}, ANONYMOUS, True),
    DataCase("hash-of-another-user", _bobs_hash, ANONYMOUS, True),
]


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize("case", DATA_CASES, ids=lambda case: case.id)
def test_session_data(
    settings: Any, case: DataCase, kind: str, alice: User, bob: User
) -> None:
    key = stored_session(**login_data(alice, **case.overrides()))
    assert_outcome(fetch(kind, sid(key)), kind, case.expected)
    assert Session.objects.filter(pk=key).exists() is not case.flushed
    if case.expected == ERROR:
        # Django's own middleware raises on this session too.
        settings.MIDDLEWARE = [SESSION_MIDDLEWARE, DJANGO_AUTH_MIDDLEWARE]
        assert_outcome(fetch("sync", sid(key)), "sync", ERROR)


def test_corrupted_session_data_logs_nobody_in(alice: User) -> None:
    key = stored_session(**login_data(alice))
    Session.objects.filter(pk=key).update(session_data="tampered:" + "A" * 40)
    for kind in PATHS:
        assert_outcome(fetch(kind, sid(key)), kind, ANONYMOUS)


# Users ----------------------------------------------------------------------


def _deactivate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def _delete(user: User) -> None:
    user.delete()


def _change_password(user: User) -> None:
    user.set_password("changed")
    user.save()


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize(
    "change", [_deactivate, _delete, _change_password], ids=lambda f: f.__name__[1:]
)
def test_user_changed_after_login_is_logged_out(
    change: Callable[[User], None], kind: str, alice: User
) -> None:
    key = stored_session(**login_data(alice))
    assert_outcome(fetch(kind, sid(key)), kind, "alice")
    change(alice)
    assert_outcome(fetch(kind, sid(key)), kind, ANONYMOUS)


@pytest.mark.parametrize("kind", PATHS)
@pytest.mark.parametrize("fallbacks", [["old-secret"], []], ids=["fallback", "none"])
def test_rotated_secret_key(
    settings: Any, kind: str, fallbacks: list[str], alice: User
) -> None:
    """With the old key in SECRET_KEY_FALLBACKS the user stays logged in (the HTTP
    path cycles the session key); without it the session names nobody."""
    settings.SECRET_KEY = "old-secret"
    key = stored_session(**login_data(alice))
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new-secret", fallbacks
    response = fetch(kind, sid(key))
    assert_outcome(response, kind, "alice" if fallbacks else ANONYMOUS)
    if fallbacks:
        new_key = response.cookies[settings.SESSION_COOKIE_NAME].value
        assert new_key and new_key != key
        assert_outcome(fetch(kind, sid(new_key)), kind, "alice")
    assert_outcome(fetch(kind, sid(key)), kind, ANONYMOUS)


# WebSocket handshakes -------------------------------------------------------


class OriginCheckPlacementTests(ChannelsTestCase):
    """``AllowedHostsOriginValidator`` outside ``AuthMiddlewareStack`` refuses a
    foreign origin before the session is read (the end-to-end tests refuse the
    handshakes with no cookie, a forged cookie and no Origin over uvicorn)."""

    async def handshake(self, origin: bytes) -> tuple[bool, list[str]]:
        """Whether the handshake is accepted, and the session resolutions it cost."""
        application = AllowedHostsOriginValidator(app(ws_consumer(LoginRequiredMixin)))
        headers = [*self.cookie, (b"origin", origin)]
        communicator = WebsocketCommunicator(application, "/ws/", headers)
        with counting_hops() as hops:
            connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected, [hop for hop in hops if hop == "resolve_user"]

    async def test_foreign_origin_is_refused_before_the_session_is_read(self) -> None:
        for origin in [
            b"http://evil.example",
            b"null",
            b"http://testserver.evil.example",
        ]:
            with self.subTest(origin=origin):
                self.assertEqual(await self.handshake(origin), (False, []))
        self.assertEqual(CONNECTED, [])
        connected, resolutions = await self.handshake(b"http://testserver")
        self.assertTrue(connected)
        self.assertNotEqual(resolutions, [])
