"""The identity cache in Redis, shared by two uvicorn processes: a change made
through one process is seen at once by the other, which had the entry cached.

With ``LocMemCache`` each process would keep its own entries, and process B
would go on serving what process A has since revoked: these tests fail so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis

from devtools.channels_e2e import (
    login,
    post,
    prepared_database,
    two_processes_and_their_redis,
)
from devtools.servers import Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Server, Server, Server]]:
    logs = tmp_path_factory.mktemp("uvicorn-identity")
    with prepared_database(logs) as database:
        env = {**database, "E2E_IDENTITY_CACHE": "1"}
        with two_processes_and_their_redis(env, logs) as servers:
            yield servers


@pytest.fixture
def pair(stack: tuple[Server, Server, Server]) -> tuple[Server, Server]:
    return stack[0], stack[1]


@contextmanager
def full(cache: Server) -> Iterator[None]:
    """The servers' Redis at maxmemory, under the default noeviction policy."""
    client = redis.Redis.from_url(cache.url)
    try:
        client.config_set("maxmemory", "1")
        yield
    finally:
        client.config_set("maxmemory", "0")
        client.close()


async def get(server: Server, path: str, session_key: str) -> tuple[int, str]:
    async with httpx.AsyncClient(
        base_url=server.url, cookies={"sessionid": session_key}
    ) as client:
        response = await client.get(path)
        return response.status_code, response.text


async def cached_on_b(a: Server, b: Server, username: str) -> str:
    """Log in through A with the permission; B serves the guarded page twice."""
    await post(a, f"/admin/grant/{username}/", await login(a, username))
    key = await login(a, username)
    for _ in range(2):  # a miss that fills the entry, then a hit
        assert await get(b, "/guarded/", key) == (200, username)
    return key


def test_permission_removed_through_a_is_refused_by_b(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair

    async def scenario() -> tuple[int, str]:
        key = await cached_on_b(a, b, "alice")
        await post(a, "/admin/revoke/alice/", key)
        return await get(b, "/guarded/", key)

    assert asyncio.run(scenario())[0] == 403


def test_logout_through_a_ends_the_session_on_b(pair: tuple[Server, Server]) -> None:
    a, b = pair

    async def scenario() -> tuple[int, str]:
        key = await cached_on_b(a, b, "carol")
        await post(a, "/logout/", key)
        return await get(b, "/whoami/", key)

    assert asyncio.run(scenario()) == (200, "None")


def test_password_change_through_a_ends_other_sessions_on_b(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair

    async def scenario() -> tuple[tuple[int, str], tuple[int, str]]:
        held = await cached_on_b(a, b, "bob")
        async with httpx.AsyncClient(
            base_url=a.url, cookies={"sessionid": await login(a, "bob")}
        ) as changer:
            response = await changer.post("/password/", data={"password": "new"})
            response.raise_for_status()
            # Django cycles the changer's key and keeps that session logged in.
            kept = response.cookies["sessionid"]
        return await get(b, "/whoami/", held), await get(b, "/guarded/", kept)

    ended, kept = asyncio.run(scenario())
    assert ended == (200, "None")
    assert kept == (200, "bob")  # the session that changed it lives on


def test_deactivation_through_a_ends_the_session_on_b(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair

    async def scenario() -> tuple[int, str]:
        key = await cached_on_b(a, b, "dave")
        await post(a, "/admin/deactivate/dave/", key)
        return await get(b, "/whoami/", key)

    assert asyncio.run(scenario()) == (200, "None")


def test_logout_through_a_on_a_full_redis_ends_the_session_on_b(
    stack: tuple[Server, Server, Server],
) -> None:
    # Redis refuses every write; the logout's deletions still reach it.
    a, b, cache = stack

    async def scenario() -> tuple[int, str]:
        key = await cached_on_b(a, b, "erin")
        with full(cache):
            await post(a, "/logout/", key)
            return await get(b, "/whoami/", key)

    assert asyncio.run(scenario()) == (200, "None")


def test_deactivation_through_a_on_a_full_redis_ends_the_session_on_b(
    stack: tuple[Server, Server, Server],
) -> None:
    a, b, cache = stack

    async def scenario() -> tuple[int, str]:
        key = await cached_on_b(a, b, "frank")
        with full(cache):
            assert await get(b, "/guarded/", key) == (200, "frank")  # a hit
            await post(a, "/admin/deactivate/frank/", key)
            return await get(b, "/whoami/", key)

    assert asyncio.run(scenario()) == (200, "None")
