"""Values that are true but answer no access check, at every door.

A check that returns a generator (a ``yield`` left in it), an async generator,
``NotImplemented``, a response (built where a bool was due) or a callable (a
method returned uncalled) is true; judged by its truth it would grant whatever
the check meant, as Django's own mixins and decorators do. Here each is a
``TypeError`` naming the check, so the request fails closed: the view never
runs, the socket is refused. The same holds for the answers a user model's
``has_perm()`` / ``has_perms()`` give when they are ``async def``: their
coroutines are awaited, never counted as grants.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseForbidden
from django.test import Client

from async_auth_views import decorators
from async_auth_views.channels import (
    CLOSE_FORBIDDEN,
)
from async_auth_views.channels import (
    PermissionRequiredMixin as ConsumerPermissionRequiredMixin,
)
from async_auth_views.channels import (
    UserPassesTestMixin as ConsumerUserPassesTestMixin,
)
from async_auth_views.mixins import PermissionRequiredMixin, UserPassesTestMixin
from tests.channels.consumers import CONNECTED, app, ws_consumer
from tests.channels.support import IN_MEMORY, cookie_of
from tests.kinds import KINDS, make_request, respond, view_class

pytestmark = pytest.mark.django_db(transaction=True)


def _generator() -> Any:
    yield False


async def _async_generator() -> Any:
    yield False


#: name: a function of no argument returning a true value that answers nothing.
NON_VERDICTS: dict[str, Any] = {
    "generator": _generator,
    "async_generator": _async_generator,
    "not_implemented": lambda: NotImplemented,
    "response": lambda: HttpResponseForbidden(),
    "uncalled_method": lambda: User.objects.exists,
}
#: How a check returns it: from a ``def`` or from an ``async def``.
RETURNS = ("def", "async_def")


def _hook(make: Any, returns: str) -> Any:
    if returns == "def":
        return lambda self, *args: make()

    async def hook(self: Any, *args: Any) -> Any:
        return make()

    return hook


async def _refused(answer: Any) -> None:
    """Awaiting ``answer`` fails: never a served view."""
    with pytest.raises(TypeError, match="no answer to an access check"):
        await answer


SERVED: list[str] = []


async def _async_page(self: Any, request: Any) -> HttpResponse:
    SERVED.append("view")
    return HttpResponse("served")


def _sync_page(self: Any, request: Any) -> HttpResponse:
    SERVED.append("view")
    return HttpResponse("served")


@pytest.mark.parametrize("returns", RETURNS)
@pytest.mark.parametrize("value", NON_VERDICTS)
@pytest.mark.parametrize("kind", KINDS)
def test_view_mixin_checks_refuse_non_verdicts(
    kind: str, value: str, returns: str
) -> None:
    hook = _hook(NON_VERDICTS[value], returns)

    async def run() -> None:
        user = await User.objects.acreate(username="alice")
        for mixin, name in (
            (UserPassesTestMixin, "test_func"),
            (PermissionRequiredMixin, "has_permission"),
        ):
            SERVED.clear()
            get = _async_page if kind == "async" else _sync_page
            view = view_class(kind, mixin, get=get, **{name: hook})
            await _refused(respond(view, make_request(user)))
            assert SERVED == []

    async_to_sync(run)()


@pytest.mark.parametrize("returns", RETURNS)
@pytest.mark.parametrize("value", NON_VERDICTS)
@pytest.mark.parametrize("view_kind", ("sync", "async"))
def test_user_passes_test_refuses_non_verdicts(
    view_kind: str, value: str, returns: str
) -> None:
    make = NON_VERDICTS[value]
    test = _hook(make, returns)
    decorated: Any
    if view_kind == "async":

        async def page(request: Any) -> HttpResponse:
            SERVED.append("view")
            return HttpResponse("served")

        decorated = decorators.user_passes_test(lambda user: test(None))(page)
    else:

        def sync_page(request: Any) -> HttpResponse:
            SERVED.append("view")
            return HttpResponse("served")

        decorated = decorators.user_passes_test(lambda user: test(None))(sync_page)

    async def run() -> None:
        user = await User.objects.acreate(username="alice")
        SERVED.clear()
        request = make_request(user)
        if view_kind == "async":
            await _refused(decorated(request))
        else:
            await _refused(sync_to_async(decorated)(request))
        assert SERVED == []

    async_to_sync(run)()


@pytest.mark.parametrize("returns", RETURNS)
@pytest.mark.parametrize("value", NON_VERDICTS)
def test_consumer_checks_refuse_non_verdicts(
    value: str, returns: str, settings: Any
) -> None:
    settings.CHANNEL_LAYERS = dict(IN_MEMORY)
    alice = User.objects.create_user("alice")
    client = Client()
    client.force_login(alice)
    cookie = cookie_of(client)
    hook = _hook(NON_VERDICTS[value], returns)

    async def run() -> None:
        for mixin, name in (
            (ConsumerUserPassesTestMixin, "test_func"),
            (ConsumerPermissionRequiredMixin, "has_permission"),
            (ConsumerUserPassesTestMixin, "check_access"),
        ):
            CONNECTED.clear()
            attrs = {"test_func": lambda self: True, name: hook}
            consumer = ws_consumer(mixin, **attrs)
            communicator = WebsocketCommunicator(app(consumer), "/ws/", headers=cookie)
            connected, code = await communicator.connect(1)
            assert (name, connected, code) == (name, False, CLOSE_FORBIDDEN)
            assert CONNECTED == []
            await communicator.wait()

    async_to_sync(run)()


class _UserWithAsyncChecks(AnonymousUser):
    """A user whose permission methods are ``async def`` only, and refuse."""

    is_active = True

    @property
    def is_anonymous(self) -> bool:  # type: ignore[override]
        return False

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True


class AsyncHasPermUser(_UserWithAsyncChecks):
    async def has_perm(self, perm: str, obj: Any = None) -> bool:  # type: ignore[override]
        await asyncio.sleep(0)
        return perm == "auth.view_user"


class AsyncHasPermsUser(_UserWithAsyncChecks):
    async def has_perms(self, perms: Any, obj: Any = None) -> bool:  # type: ignore[override]
        await asyncio.sleep(0)
        return list(perms) == ["auth.view_user"]


@pytest.mark.parametrize("user_class", [AsyncHasPermUser, AsyncHasPermsUser])
@pytest.mark.parametrize("kind", KINDS)
def test_async_only_user_permission_methods_are_awaited(
    kind: str, user_class: type
) -> None:
    async def run() -> None:
        for perm, served in (("auth.view_user", True), ("auth.delete_user", False)):
            SERVED.clear()
            view = view_class(
                kind,
                PermissionRequiredMixin,
                permission_required=perm,
                raise_exception=True,
                get=_async_page if kind == "async" else _sync_page,
            )
            if served:
                response = await respond(view, make_request(user_class()))
                assert response.status_code == 200
            else:
                with pytest.raises(PermissionDenied):
                    await respond(view, make_request(user_class()))
            assert (["view"] if served else []) == SERVED

    async_to_sync(run)()


@pytest.mark.parametrize("user_class", [AsyncHasPermUser, AsyncHasPermsUser])
@pytest.mark.parametrize("view_kind", ("sync", "async"))
def test_async_only_user_permission_methods_through_the_decorator(
    view_kind: str, user_class: type
) -> None:
    async def apage(request: Any) -> HttpResponse:
        return HttpResponse("served")

    def page(request: Any) -> HttpResponse:
        return HttpResponse("served")

    async def run() -> None:
        for perm, status in (("auth.view_user", 200), ("auth.delete_user", 302)):
            decorate = decorators.permission_required(perm)
            request = make_request(user_class())
            if view_kind == "async":
                response = await decorate(apage)(request)
            else:
                response = await sync_to_async(decorate(page))(request)
            assert (perm, response.status_code) == (perm, status)

    async_to_sync(run)()
