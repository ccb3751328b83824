#!/usr/bin/env python3
"""Serve the example site the way a deployment that outgrew one process does.

``python3 run.py scale`` runs this file: PostgreSQL and Redis on free ports of
127.0.0.1, two uvicorn processes on ports ``PORT`` and ``PORT + 1`` (8000 and
8001 by default), all sharing the database and the ``channels_redis`` channel
layer. Logging out in a page served by one process closes the live panel of a
page served by the other.

``postgresql`` and ``redis-server`` are installed from Debian's packages where
missing (as root). Their data lives in temporary folders, deleted on Ctrl+C.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgresql_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's layout)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name),
    )
    return found[-1].parent if found else None


def install_missing() -> None:
    """apt-get install postgresql and redis-server where missing (root only)."""
    missing = []
    if postgresql_bin() is None:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"Install {' '.join(missing)} first, e.g. sudo apt-get install ...")
    print(f"Installing {' '.join(missing)} from Debian's packages ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def wait_for(what: str, process: subprocess.Popen[bytes], ready: list[str]) -> None:
    """Wait until the command ``ready`` succeeds; exit if ``process`` dies first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while subprocess.run(ready, capture_output=True).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{what} did not start.")
        time.sleep(0.2)


@contextmanager
def process(
    command: list[Any], stop: int = signal.SIGTERM, **kwargs: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` for the duration of the block; send it ``stop`` after,
    and kill it if it has not exited within 15 seconds."""
    child = subprocess.Popen(command, **kwargs)
    try:
        yield child
    finally:
        child.send_signal(stop)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def postgresql() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (TCP only); yields its URL."""
    bin_dir = postgresql_bin()
    assert bin_dir is not None
    data = Path(tempfile.mkdtemp(prefix="example-postgresql-"))
    # PostgreSQL refuses to run as root: root runs it as Debian's postgres user,
    # directly (no runuser in between, which would SIGKILL it 2 s after a stop).
    as_owner: dict[str, Any] = {"cwd": data}
    if os.geteuid() == 0:
        as_owner.update(user="postgres", group="postgres", extra_groups=[])
    try:
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        initdb = [bin_dir / "initdb", "-D", data, "-U", "example", "--auth", "trust"]
        initdb += ["--encoding", "UTF8", "--no-instructions"]
        subprocess.run(initdb, check=True, stdout=subprocess.DEVNULL, **as_owner)
        port = str(free_port())
        server = [bin_dir / "postgres", "-D", data, "-p", port]
        server += ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]
        server += ["-c", "log_min_messages=fatal"]  # quiet: no LOG lines
        # SIGINT is PostgreSQL's fast shutdown: it is gone before its data is.
        with process(
            server, stop=signal.SIGINT, stdout=subprocess.DEVNULL, **as_owner
        ) as running:
            address = ["-h", "127.0.0.1", "-p", port, "-U", "example"]
            ready = [bin_dir / "pg_isready", *address, "-d", "postgres"]
            wait_for("PostgreSQL", running, ready)
            subprocess.run([bin_dir / "createdb", *address, "example"], check=True)
            print(f"PostgreSQL {bin_dir.parent.name} on 127.0.0.1:{port}")
            yield f"postgresql://example@127.0.0.1:{port}/example"
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def redis() -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1, saving nothing; yields its URL."""
    port = str(free_port())
    command = ["redis-server", "--bind", "127.0.0.1", "--port", port]
    command += ["--save", "", "--appendonly", "no"]
    with process(command, stdout=subprocess.DEVNULL) as running:
        ping = ["redis-cli", "-h", "127.0.0.1", "-p", port, "ping"]
        wait_for("redis-server", running, ping)
        print(f"redis-server on 127.0.0.1:{port}")
        yield f"redis://127.0.0.1:{port}/0"


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, EXAMPLE / "manage.py", *args], check=True, env=env)


def main() -> None:
    # Stopped by a signal other than Ctrl+C, still stop the servers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    install_missing()
    first_port = int(os.environ.get("PORT", "8000"))
    with ExitStack() as stack:
        env = {
            **os.environ,
            "PYTHONPATH": str(EXAMPLE),
            "EXAMPLE_DATABASE_URL": stack.enter_context(postgresql()),
            "EXAMPLE_REDIS_URL": stack.enter_context(redis()),
        }
        manage("migrate", "--noinput", "--verbosity", "0", env=env)
        manage("demo_users", env={**env, "PORT": str(first_port)})
        servers = []
        for port in (first_port, first_port + 1):
            command = [sys.executable, "-m", "uvicorn", "example_site.asgi:application"]
            command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
            servers.append(stack.enter_context(process(command, cwd=EXAMPLE, env=env)))
        print(
            f"Serving the example site on http://127.0.0.1:{first_port}/ and "
            f"http://127.0.0.1:{first_port + 1}/ (Ctrl+C to stop)",
            flush=True,
        )
        try:
            while all(server.poll() is None for server in servers):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
