"""The identity cache in native mode: a miss is filled on the event loop, in the
thread hop's order, and a change that lands during the fill is never served.

On a real ``LocMemCache`` and a real ``redis-server`` (``FaultyRedis``, which
also puts it at ``maxmemory``), behind the library's middlewares.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.models import Session
from django.core.cache import caches

from async_auth_views.identity import _cache
from async_auth_views.native.pool import Runner
from tests.reliability.faults import FaultyRedis

from .support import (
    native_sql,
    needs_async_engine,
    on_new_loop,
    pool_option,
    session_for,
)
from .test_requests import auth_hops, get, permitted_user
from .views import MIDDLEWARE

pytestmark = [
    needs_async_engine,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.native.views"),
]

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
REDIS = "django.core.cache.backends.redis.RedisCache"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[FaultyRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = FaultyRedis()
    yield server
    server.stop()


@pytest.fixture(params=["locmem", "redis"])
def identity_cache(request: Any, settings: Any) -> FaultyRedis | None:
    """The identity cache, in memory or in Redis; the Redis server, if any."""
    settings.MIDDLEWARE = MIDDLEWARE
    server = None
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        server.flush()
        identity = {
            "BACKEND": REDIS,
            "LOCATION": server.url,
            "OPTIONS": {"socket_timeout": 0.5},
        }
    else:
        identity = {"BACKEND": LOCMEM, "LOCATION": "native-identity"}
    settings.CACHES = {
        "default": {"BACKEND": LOCMEM, "LOCATION": "native-default"},
        "identity": identity,
    }
    settings.ASYNC_AUTH_IDENTITY_CACHE = "identity"
    caches["identity"].clear()
    return server


def cached(key: str) -> bool:
    """Whether a valid entry for session ``key`` is in the identity cache."""
    from django.contrib.sessions.backends.db import SessionStore

    return _cache.cached_entry(caches["identity"], SessionStore(key)).user is not None


def test_a_miss_is_filled_and_a_hit_served_with_no_thread_hop(
    identity_cache: Any,
) -> None:
    key = session_for(permitted_user("add_user", "change_user"))
    with native_sql() as statements:
        response, hops = on_new_loop(get, "/protected/", key)
    assert response.status_code == 200
    assert auth_hops(hops) == []
    assert len(statements) == 3  # the session, the user, the permissions
    assert cached(key)
    with native_sql() as statements:
        response, hops = on_new_loop(get, "/protected/", key)
    assert response.status_code == 200
    assert auth_hops(hops) == []
    assert statements == []  # a hit


def test_a_miss_with_a_pool_raises_no_runtime_warning(identity_cache: Any) -> None:
    """No sync connection is touched: django-async-backend warns on each."""
    key = session_for(permitted_user("add_user", "change_user"))
    with pool_option(True), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response, _ = on_new_loop(get, "/protected/", key)
    assert response.status_code == 200
    assert cached(key)
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []


@contextmanager
def after_statement(number: int, change: Callable[[], None]) -> Iterator[list[int]]:
    """Make ``change`` (with the sync ORM, in a thread) right after the native
    path's ``number``-th statement returns: between the reads of a fill and
    the write of its entry. Yields a list that holds ``number`` once it ran."""
    fetch = Runner.fetch
    done: list[int] = []
    calls = 0

    async def fetch_then_change(self: Runner, sql: str, params: Any) -> Any:
        nonlocal calls
        rows = await fetch(self, sql, params)
        calls += 1
        if calls == number:
            await sync_to_async(change)()
            done.append(number)
        return rows

    Runner.fetch = fetch_then_change  # type: ignore[method-assign]
    try:
        yield done
    finally:
        Runner.fetch = fetch  # type: ignore[method-assign]


def logged_out_elsewhere(key: str, user: User) -> None:
    Session.objects.filter(session_key=key).delete()


def deactivated(key: str, user: User) -> None:
    user.is_active = False
    user.save()


def permission_removed(key: str, user: User) -> None:
    user.user_permissions.remove(Permission.objects.get(codename="change_user"))


@pytest.mark.parametrize(
    "change", [logged_out_elsewhere, deactivated, permission_removed]
)
@pytest.mark.parametrize("after", [1, 3], ids=["session read", "permissions read"])
def test_a_change_during_a_native_fill_is_not_served(
    identity_cache: Any, change: Callable[[str, User], None], after: int
) -> None:
    """The change lands after the session's row (or the permissions) were read
    and before the entry is written: whatever the entry holds, the next
    request is answered as the database says now."""
    user = permitted_user("add_user", "change_user")
    key = session_for(user)
    with after_statement(after, lambda: change(key, user)) as ran:
        on_new_loop(get, "/protected/", key)
    assert ran == [after], "the change never ran"
    response, hops = on_new_loop(get, "/protected/", key)
    assert response.status_code == 403
    assert auth_hops(hops) == []


def test_a_full_redis_answers_a_miss_natively_and_stores_nothing(
    identity_cache: FaultyRedis | None,
) -> None:
    if identity_cache is None:
        pytest.skip("Redis only")
    key = session_for(permitted_user("add_user", "change_user"))
    with identity_cache.full():
        response, hops = on_new_loop(get, "/protected/", key)
        assert response.status_code == 200
        assert auth_hops(hops) == []
        assert not cached(key)
    response, _ = on_new_loop(get, "/protected/", key)
    assert response.status_code == 200
    assert cached(key)  # filled once Redis has room again
