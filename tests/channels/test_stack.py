"""Every consumer base Channels offers, on the stack a project runs.

Each test reaches its consumer through Channels' own ``CookieMiddleware`` and
``SessionMiddleware`` and our ``AuthMiddleware`` (``AuthMiddlewareStack``),
with a session made by the session engine under test, never a scope built by
hand; for each of Django's session engines, with the identity cache off, and
on with the session's entry missing (a socket opened right after login) or
present (filled by an HTTP request). The consumers are a raw ``AsyncConsumer``
that sends its own ASGI messages and the generic consumers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.http import HttpCommunicator
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.file import SessionStore as FileStore
from django.core.cache import caches
from django.test import AsyncClient, Client
from django.utils.module_loading import import_string

from async_auth_views import identity
from async_auth_views import session_engines as engines
from async_auth_views.channels import CLOSE_UNAUTHENTICATED, LoginRequiredMixin
from tests.measure import counting_hops

from .consumers import CONNECTED, PAGES, SOCKETS, app, say
from .support import IN_MEMORY, Headers, create_user

pytestmark = pytest.mark.django_db(transaction=True)

ENGINES = {
    "db": engines.DB,
    "cached_db": engines.CACHED_DB,
    "cache": engines.CACHE,
    "file": engines.FILE,
    "signed_cookies": engines.SIGNED_COOKIES,
}
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
CACHES = {
    "default": {"BACKEND": LOCMEM, "LOCATION": "stack-default"},
    "identity": {"BACKEND": LOCMEM, "LOCATION": "stack-identity"},
}
#: The identity cache: off; on, with no entry for the session yet; on, with one.
IDENTITY = ["off", "miss", "hit"]
#: The resolutions that read the database, as counted by ``counting_hops()``.
RESOLUTIONS = ("_resolve", "resolve_user", "resolve_user_until")


def _forget_storage_path() -> None:
    """The file engine keeps the first SESSION_FILE_PATH it reads; make it read again."""
    if "_storage_path" in vars(FileStore):
        del FileStore._storage_path  # type: ignore[attr-defined]


class Project:
    """The project under test: its session engine, and alice, logged in."""

    def __init__(self, engine: str, identity_cache: str) -> None:
        self.engine = engine
        self.identity_cache = identity_cache
        self.user = create_user("alice")
        self.client = Client()
        self.client.force_login(self.user)
        self.key = self.client.cookies[settings.SESSION_COOKIE_NAME].value

    def store(self, key: str | None = None) -> SessionBase:
        store: SessionBase = import_string(f"{self.engine}.SessionStore")(key)
        return store

    def cookie(self, key: str | None = None) -> Headers:
        value = self.key if key is None else key
        return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode())]

    def anonymous_session(self) -> str:
        """The key of a saved session that names no user (a visitor's basket)."""
        store = self.store()
        store["basket"] = ["tea"]
        store.save()
        assert store.session_key is not None
        return store.session_key

    def cached(self) -> bool:
        """Whether the identity cache holds a valid entry for alice's session."""
        return (
            identity.cached_user(caches["identity"], self.store(self.key)) is not None
        )

    def fill(self) -> None:
        """Fill the session's entry as a page would: one request over HTTP."""
        client = AsyncClient()
        client.cookies = self.client.cookies
        response = async_to_sync(client.get)("/whoami/")
        assert response.content.decode() == str(self.user.pk)
        assert self.cached(), "the page did not fill the identity cache"


@pytest.fixture(params=list(ENGINES))
def engine(request: Any, settings: Any, tmp_path: Any) -> Iterator[str]:
    _forget_storage_path()
    settings.SESSION_ENGINE = ENGINES[request.param]
    settings.SESSION_FILE_PATH = str(tmp_path)
    settings.CACHES = CACHES
    settings.CHANNEL_LAYERS = dict(IN_MEMORY)
    settings.ROOT_URLCONF = "tests.channels.urls"
    for alias in CACHES:
        caches[alias].clear()
    CONNECTED.clear()
    yield ENGINES[request.param]
    _forget_storage_path()


def project(settings: Any, engine: str, identity_cache: str) -> Project:
    if identity_cache != "off":
        settings.ASYNC_AUTH_IDENTITY_CACHE = "identity"
    result = Project(engine, identity_cache)
    if identity_cache == "hit":
        result.fill()
    elif identity_cache == "miss":
        assert not result.cached()
    return result


async def _open(consumer: type, headers: Headers) -> Any:
    communicator = WebsocketCommunicator(app(consumer), "/ws/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _get(consumer: type, headers: Headers) -> dict[str, Any]:
    communicator = HttpCommunicator(
        app(consumer), "GET", "/page/", headers=[(b"host", b"testserver"), *headers]
    )
    return await communicator.get_response()


def _assert_resolution(stack: Project, hops: list[str]) -> None:
    """A hit costs no resolution; a miss fills the entry."""
    if stack.identity_cache == "hit":
        assert not [hop for hop in hops if hop in RESOLUTIONS], hops
    elif stack.identity_cache == "miss":
        assert stack.cached(), "the handshake did not fill the identity cache"


@pytest.mark.parametrize("identity_cache", IDENTITY)
@pytest.mark.parametrize("base", SOCKETS)
def test_socket_serves_its_user(
    settings: Any, engine: str, identity_cache: str, base: str
) -> None:
    stack = project(settings, engine, identity_cache)
    consumer = SOCKETS[base](LoginRequiredMixin)

    async def run() -> None:
        with counting_hops() as hops:
            communicator, connected, _ = await _open(consumer, stack.cookie())
        assert connected
        assert [consumer.__name__] == CONNECTED
        assert await say(communicator, consumer, "hi") == "alice: hi"
        await communicator.disconnect()
        _assert_resolution(stack, hops)

    async_to_sync(run)()


@pytest.mark.parametrize("identity_cache", ["off", "miss"])
@pytest.mark.parametrize("base", SOCKETS)
def test_socket_refuses_an_anonymous_session(
    settings: Any, engine: str, identity_cache: str, base: str
) -> None:
    stack = project(settings, engine, identity_cache)
    consumer = SOCKETS[base](LoginRequiredMixin)
    cookie = stack.cookie(stack.anonymous_session())

    async def run() -> None:
        communicator, connected, code = await _open(consumer, cookie)
        assert (connected, code) == (False, CLOSE_UNAUTHENTICATED)
        assert CONNECTED == []
        await communicator.wait()

    async_to_sync(run)()


@pytest.mark.parametrize("identity_cache", ["off", "hit"])
@pytest.mark.parametrize("base", SOCKETS)
def test_socket_is_closed_by_logout(
    settings: Any, engine: str, identity_cache: str, base: str
) -> None:
    stack = project(settings, engine, identity_cache)
    consumer = SOCKETS[base](LoginRequiredMixin)

    async def run() -> None:
        communicator, connected, _ = await _open(consumer, stack.cookie())
        assert connected
        response = await sync_to_async(stack.client.post)("/logout/")
        assert response.status_code == 200
        closed = await communicator.receive_output(timeout=1)
        assert (closed["type"], closed.get("code")) == (
            "websocket.close",
            CLOSE_UNAUTHENTICATED,
        )
        await communicator.disconnect()

    async_to_sync(run)()


@pytest.mark.parametrize("identity_cache", IDENTITY)
@pytest.mark.parametrize("base", PAGES)
def test_page_serves_its_user(
    settings: Any, engine: str, identity_cache: str, base: str
) -> None:
    stack = project(settings, engine, identity_cache)
    consumer = PAGES[base](LoginRequiredMixin)

    async def run() -> None:
        with counting_hops() as hops:
            response = await _get(consumer, stack.cookie())
        assert (response["status"], response["body"]) == (200, b"page for alice")
        _assert_resolution(stack, hops)

    async_to_sync(run)()


@pytest.mark.parametrize("identity_cache", ["off", "miss"])
@pytest.mark.parametrize("base", PAGES)
def test_page_sends_an_anonymous_session_to_login(
    settings: Any, engine: str, identity_cache: str, base: str
) -> None:
    stack = project(settings, engine, identity_cache)
    consumer = PAGES[base](LoginRequiredMixin)
    cookie = stack.cookie(stack.anonymous_session())

    async def run() -> None:
        response = await _get(consumer, cookie)
        assert response["status"] == 302
        assert (b"Location", b"/login/?next=/page/") in response["headers"]
        assert b"page for" not in response.get("body", b"")

    async_to_sync(run)()
