"""Real servers, real clients: a logout or password change over HTTP closes the
socket, in one uvicorn process and across two sharing redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from async_auth_views.channels import CLOSE_UNAUTHENTICATED
from devtools.channels_e2e import (
    closed_within,
    login,
    open_socket,
    post,
    prepared_database,
    serve,
    two_processes_sharing_redis,
)
from devtools.servers import Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with prepared_database(tmp_path_factory.mktemp("channels-e2e")) as env:
        yield env


@pytest.fixture(scope="module")
def server(
    database: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with serve(database, tmp_path_factory.mktemp("uvicorn") / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def redis_pair(
    database: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("uvicorn-redis")
    with two_processes_sharing_redis(database, logs) as pair:
        yield pair


def test_logout_over_http_closes_the_socket(server: Server) -> None:
    async def scenario() -> int | None:
        key = await login(server, "alice")
        ws = await open_socket(server, key)
        await post(server, "/logout/", key)
        return await closed_within(ws, 1.0)

    assert asyncio.run(scenario()) == CLOSE_UNAUTHENTICATED


def test_password_change_closes_the_socket(server: Server) -> None:
    async def scenario() -> int | None:
        held = await login(server, "bob")
        ws = await open_socket(server, held)
        changer = await login(server, "bob")  # another browser of the same user
        await post(server, "/password/", changer, password="bob-new-pass")
        return await closed_within(ws, 1.0)

    assert asyncio.run(scenario()) == CLOSE_UNAUTHENTICATED


def test_refused_handshake_is_http_403(server: Server) -> None:
    import websockets

    async def scenario() -> int:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                server.url.replace("http://", "ws://") + "/ws/echo/",
                origin=server.url,  # type: ignore[arg-type]
            )
        return refused.value.response.status_code

    assert asyncio.run(scenario()) == 403


def test_logout_through_one_process_closes_a_socket_held_by_another(
    redis_pair: tuple[Server, Server],
) -> None:
    a, b = redis_pair

    async def scenario() -> int | None:
        key = await login(a, "carol")
        ws = await open_socket(b, key)
        await post(a, "/logout/", key)
        return await closed_within(ws, 1.0)

    assert asyncio.run(scenario()) == CLOSE_UNAUTHENTICATED
