"""Run an ASGI app under uvicorn in a subprocess, as the end-to-end tests need.

The server gets its own environment: the Django settings pytest-django set up
for the test process (``DJANGO_SETTINGS_MODULE``) are not passed on to it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


@dataclass
class Server:
    """A running uvicorn process and where to reach it."""

    app: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """What the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Ask the server to shut down; kill it if it has not within STOP_TIMEOUT."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# What the start_server fixture returns: start_server(app, *, cwd, env, settings, ...).
StartServer = Callable[..., Server]


def server_env(
    env: Mapping[str, str] | None = None, settings: str | None = None
) -> dict[str, str]:
    """This process's environment with ``env`` on top and the Django settings set.

    With ``settings`` None, ``DJANGO_SETTINGS_MODULE`` is removed, so the app's
    own default applies rather than the test suite's.
    """
    result = {**os.environ, **(env or {})}
    result.pop("DJANGO_SETTINGS_MODULE", None)
    if settings is not None:
        result["DJANGO_SETTINGS_MODULE"] = settings
    return result


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_uvicorn(
    app: str,
    *,
    cwd: Path,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    settings: str | None = None,
    options: Sequence[str] = (),
) -> Server:
    """Start ``python -m uvicorn app *options`` on a free port of 127.0.0.1; do not wait."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", app, *options]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=server_env(env, settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(app, f"http://127.0.0.1:{port}", process, log_path)


def wait_until_answering(server: Server, ready_path: str = "/") -> None:
    """Return once ``ready_path`` gets any HTTP answer; fail with the server's log
    if the server exits or STARTUP_TIMEOUT passes first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"uvicorn {server.app} exited with {server.process.returncode} "
                f"before answering:\n{server.log()}"
            )
        try:
            httpx.get(server.url + ready_path, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    server.stop()
    pytest.fail(
        f"uvicorn {server.app} did not answer within {STARTUP_TIMEOUT:.0f} s:\n"
        f"{server.log()}"
    )
