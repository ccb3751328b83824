"""The Channels end-to-end tests' servers and clients: uvicorn processes serving
``tests.channels.asgi_app`` on one database, ``redis-server`` for the
cross-process channel layer (both started by ``devtools.servers``), and the
browser's side: log in, post, open the protected socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import websockets
from django.conf import settings as suite_settings
from websockets.asyncio.client import ClientConnection

from devtools.databases import throwaway_database
from devtools.servers import Server, redis, uvicorn
from tests import hostile

ROOT = Path(__file__).resolve().parents[1]
APP = "tests.channels.asgi_app:application"
#: The servers run the project the suite runs on: the stock or the hostile one.
SETTINGS = (
    "tests.hostile.e2e_settings"
    if suite_settings.AUTH_USER_MODEL == hostile.AUTH_USER_MODEL
    else "tests.channels.e2e_settings"
)
USERS = {
    "alice": "alice-pass",
    "bob": "bob-pass",
    "carol": "carol-pass",
    "dave": "dave-pass",
    "erin": "erin-pass",
    "frank": "frank-pass",
}


def run_django(*args: str, env: dict[str, str], settings: str = SETTINGS) -> str:
    """Run ``python -m django *args`` against the servers' database; return its output."""
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": settings},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode:
        raise RuntimeError(f"django {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@contextmanager
def prepared_database(directory: Path) -> Iterator[dict[str, str]]:
    """A fresh database, migrated, with USERS; yields the servers' env.

    On the suite's PostgreSQL server where it runs on one (dropped afterwards),
    in a SQLite file in ``directory`` otherwise.
    """
    with throwaway_database("e2e") as url:
        env = (
            {"E2E_DATABASE_URL": url}
            if url
            else {"E2E_DB_PATH": str(directory / "db.sqlite3")}
        )
        run_django("migrate", "--noinput", env=env)
        create = "; ".join(
            f"User.objects.create_user({name!r}, password={password!r})"
            for name, password in USERS.items()
        )
        run_django(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            f"User = get_user_model(); {create}",
            env=env,
        )
        yield env


def serve(
    env: dict[str, str],
    log_path: Path,
    app: str = APP,
    settings: str = SETTINGS,
    options: Sequence[str] = (),
) -> Server:
    """Start uvicorn (with ``options``) on a free port and wait until it answers."""
    return uvicorn(
        app,
        cwd=ROOT,
        settings=settings,
        env=env,
        ready_path="/whoami/",
        options=options,
        log_path=log_path,
    )


@contextmanager
def two_processes_sharing_redis(
    env: dict[str, str], logs: Path
) -> Iterator[tuple[Server, Server]]:
    """Two uvicorn processes on one database and one throwaway redis-server.

    Skips the test, with the reason, where redis-server is not installed.
    """
    with two_processes_and_their_redis(env, logs) as (a, b, _):
        yield a, b


@contextmanager
def two_processes_and_their_redis(
    env: dict[str, str], logs: Path
) -> Iterator[tuple[Server, Server, Server]]:
    """See two_processes_sharing_redis(); the redis-server too, last."""
    import pytest

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    with redis(log_path=logs / "redis.log") as cache:
        env = {**env, "E2E_REDIS_URL": cache.url}
        with serve(env, logs / "a.log") as a, serve(env, logs / "b.log") as b:
            yield a, b, cache


async def login(server: Server, username: str, password: str | None = None) -> str:
    """Log in over HTTP (as one of USERS by default); return the session key the
    browser would hold."""
    password = USERS[username] if password is None else password
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/login/", data={"username": username, "password": password}
        )
        response.raise_for_status()
        return str(client.cookies["sessionid"])


async def post(server: Server, path: str, session_key: str, **data: str) -> None:
    """POST ``path`` as another client holding the same session cookie."""
    async with httpx.AsyncClient(
        base_url=server.url, cookies={"sessionid": session_key}
    ) as client:
        (await client.post(path, data=data)).raise_for_status()


async def open_socket(server: Server, session_key: str) -> ClientConnection:
    """Open the protected echo socket with the session cookie and check it serves."""
    ws = await websockets.connect(
        server.url.replace("http://", "ws://") + "/ws/echo/",
        origin=server.url,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={session_key}"},
    )
    await ws.send("hi")
    reply = await asyncio.wait_for(ws.recv(), 5)
    assert str(reply).endswith(": hi"), reply
    return ws


async def closed_within(ws: ClientConnection, seconds: float) -> int | None:
    """The close code the server sent within ``seconds``; None if still open."""
    try:
        await asyncio.wait_for(ws.wait_closed(), seconds)
    except asyncio.TimeoutError:  # not yet the builtin on Python 3.10
        await ws.close()
        return None
    return ws.close_code
