"""Native mode's connections: one pool per event loop, closed with the loop;
a caller's transaction honoured; nothing left open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections, transaction

from async_auth_views.identity import aresolve_session
from async_auth_views.identity._native import aresolve_native
from async_auth_views.native import pool as native_pool
from tests.docs import block

from .support import (
    needs_async_engine,
    on_new_loop,
    pool_option,
    server_connections,
    session_for,
)

pytestmark = [needs_async_engine, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def key() -> str:
    return session_for(User.objects.create_user("alice", password="pw"))


async def resolve(key: str) -> Any:
    resolved = await aresolve_native(SessionStore(key))
    assert resolved is not None
    return resolved[0]


def test_each_loops_pool_closes_with_its_loop(key: str) -> None:
    """Django runs each async test, and async_to_sync each call, on a new loop."""
    before = server_connections()
    with pool_option({"min_size": 2, "max_size": 2}):
        for _ in range(12):
            assert on_new_loop(resolve, key).username == "alice"
            assert server_connections(settles_at=before) == before


def test_a_pool_keeps_its_connections_while_its_loop_runs(key: str) -> None:
    before = server_connections()

    async def twice() -> int:
        await resolve(key)
        await resolve(key)
        return await asyncio.to_thread(server_connections)

    with pool_option(True):
        assert on_new_loop(twice) == before + 1
    assert server_connections(settles_at=before) == before


def test_without_a_pool_no_connection_outlives_its_borrow(key: str) -> None:
    before = server_connections()

    async def resolved_then_counted() -> int:
        await resolve(key)
        return await asyncio.to_thread(server_connections, settles_at=before)

    with pool_option(None):
        assert on_new_loop(resolved_then_counted) == before


def test_a_loop_closed_without_shutdown_leaves_nothing_open(key: str) -> None:
    """A loop closed without ending its async generators (no asyncio.run()):
    its idle connections are closed when the next loop borrows."""
    before = server_connections()
    with pool_option(True):
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(resolve(key)).username == "alice"
        loop.close()
        assert server_connections(settles_at=before) == before + 1
        on_new_loop(resolve, key)
    assert server_connections(settles_at=before) == before
    assert all(not loop.is_closed() for loop in native_pool._by_loop)


def test_concurrent_requests_share_a_pool_of_its_size(key: str) -> None:
    """Each task borrows its own connection; no more than the pool's size open."""
    before = server_connections()

    async def many() -> tuple[list[Any], int]:
        users = await asyncio.gather(*(resolve(key) for _ in range(20)))
        return users, await asyncio.to_thread(server_connections)

    with pool_option({"max_size": 3}):
        users, during = on_new_loop(many)
    assert {user.username for user in users} == {"alice"}
    assert during <= before + 3
    assert server_connections(settles_at=before) == before


def test_the_documented_settings_are_native_mode(key: str) -> None:
    """docs/native.rst's DATABASES: the engine native mode runs on, and a pool
    that opens no more connections than its ``max_size``."""
    documented: dict[str, Any] = {}
    exec(
        block("native.rst", "django_async_backend.db.backends.postgresql").code,
        documented,
    )
    default = documented["DATABASES"]["default"]
    assert default["ENGINE"] == connections.settings["default"]["ENGINE"]
    assert "django_async_backend" in documented["INSTALLED_APPS"]
    size = default["OPTIONS"]["pool"]["max_size"]
    before = server_connections()

    async def many() -> tuple[list[Any], int]:
        users = await asyncio.gather(*(resolve(key) for _ in range(size + 8)))
        return users, await asyncio.to_thread(server_connections)

    with pool_option(default["OPTIONS"]["pool"]):
        users, during = on_new_loop(many)
    assert {user.username for user in users} == {"alice"}
    assert during == before + size  # not the default size (4), nor more
    assert server_connections(settles_at=before) == before


def test_without_a_pool_a_burst_opens_no_more_than_a_pools_size() -> None:
    """Sockets opening at once must not exhaust the server's connections:
    twelve borrowers hold on, four connections open, eight wait."""
    before = server_connections()

    async def burst() -> tuple[int, int]:
        release = asyncio.Event()
        holding: list[int] = []

        async def hold() -> None:
            async with native_pool.borrowed("default"):
                holding.append(1)
                await release.wait()

        tasks = [asyncio.create_task(hold()) for _ in range(12)]
        while len(holding) < 4:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # Would the others get in?
        during = await asyncio.to_thread(server_connections)
        held = len(holding)
        release.set()
        await asyncio.gather(*tasks)
        return held, during

    with pool_option(None):
        held, during = on_new_loop(burst)
    assert (held, during) == (4, before + 4)
    assert server_connections(settles_at=before) == before


def test_a_task_inside_async_atomic_reads_through_its_transaction(key: str) -> None:
    """As Django's sync code reads through the thread's connection."""
    from django_async_backend.db import async_connections
    from django_async_backend.db.transaction import async_atomic

    class Rollback(Exception):
        pass

    async def deactivated_in_transaction() -> Any:
        try:
            async with async_atomic():
                await User.async_objects.filter(username="alice").aupdate(
                    is_active=False
                )
                user = await resolve(key)
                raise Rollback(user)
        except Rollback as rolled_back:
            return rolled_back.args[0]
        finally:
            # What request_finished does for a request (django-async-backend's app).
            await async_connections["default"].close()

    assert isinstance(on_new_loop(deactivated_in_transaction), AnonymousUser)
    assert on_new_loop(resolve, key).username == "alice"  # rolled back


def test_an_async_to_sync_caller_gets_the_thread_hop(key: str) -> None:
    """Its thread waits, holding its connection and any transaction on it."""
    assert async_to_sync(aresolve_native)(SessionStore(key)) is None


def test_an_async_to_sync_caller_sees_its_own_transaction(key: str) -> None:
    with transaction.atomic():
        bob = User.objects.create_user("bob", password="pw")
        bobs = session_for(bob)
        user = async_to_sync(aresolve_session)(SessionStore(bobs)).user
        assert user == bob
