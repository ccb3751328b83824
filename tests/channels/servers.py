"""Real servers for the Channels end-to-end tests and the latency benchmark:
uvicorn processes serving ``tests.channels.asgi_app`` on one SQLite file, and
``redis-server`` for the cross-process channel layer."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.e2e.server import (
    Server,
    server_env,
    start_uvicorn,
    wait_until_answering,
)

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.channels.asgi_app:application"
SETTINGS = "tests.channels.e2e_settings"
USERS = {
    "alice": "alice-pass",
    "bob": "bob-pass",
    "carol": "carol-pass",
    "dave": "dave-pass",
}


def run_django(*args: str, env: dict[str, str], settings: str = SETTINGS) -> str:
    """Run ``python -m django *args`` against the servers' database; return its output."""
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=server_env(env, settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode:
        raise RuntimeError(f"django {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def prepare_database(db_path: Path) -> dict[str, str]:
    """Migrate a fresh SQLite file, create USERS, and return the servers' env."""
    env = {"E2E_DB_PATH": str(db_path)}
    run_django("migrate", "--noinput", env=env)
    create = "; ".join(
        f"User.objects.create_user({name!r}, password={password!r})"
        for name, password in USERS.items()
    )
    run_django(
        "shell", "-c", f"from django.contrib.auth.models import User; {create}", env=env
    )
    return env


def serve(
    env: dict[str, str],
    log_path: Path,
    app: str = APP,
    settings: str = SETTINGS,
    options: Sequence[str] = (),
) -> Server:
    """Start uvicorn (with ``options``) on a free port and wait until it answers."""
    server = start_uvicorn(
        app, cwd=ROOT, log_path=log_path, env=env, settings=settings, options=options
    )
    wait_until_answering(server, "/whoami/")
    return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway ``redis-server`` on a free port of 127.0.0.1; yields its URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise FileNotFoundError("redis-server is not on PATH")
    port = _free_port()
    command = [executable, "--port", str(port), "--bind", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def two_processes_sharing_redis(
    env: dict[str, str], logs: Path
) -> Iterator[tuple[Server, Server]]:
    """Two uvicorn processes on one database and one throwaway redis-server.

    Skips the test, with the reason, where redis-server is not installed.
    """
    import pytest

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    with redis_server() as url:
        env = {**env, "E2E_REDIS_URL": url}
        a = serve(env, logs / "a.log")
        try:
            b = serve(env, logs / "b.log")
            try:
                yield a, b
            finally:
                b.stop()
        finally:
            a.stop()


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
