#!/usr/bin/env python3
"""Serve the example site the way a deployment that outgrew one process does.

``python3 run.py scale`` runs this file: PostgreSQL and Redis on free ports of
127.0.0.1, two uvicorn processes on ports ``PORT`` and ``PORT + 1`` (8000 and
8001 by default), all sharing the database and the ``channels_redis`` channel
layer. Logging out in a page served by one process closes the live panel of a
page served by the other.

``postgresql`` and ``redis-server`` are installed from Debian's packages where
missing (as root). The servers are started and stopped by the project's one
mechanism, ``devtools/servers.py``; PostgreSQL's data lives in a temporary folder,
deleted on Ctrl+C; their logs stay in another, printed at start.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent
sys.path.insert(0, str(EXAMPLE.parent))  # the repository root, for devtools.servers

from devtools.databases import create_database  # noqa: E402
from devtools.servers import postgresql, postgresql_bin, redis, uvicorn  # noqa: E402


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


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, EXAMPLE / "manage.py", *args], check=True, env=env)


def main() -> None:
    # Stopped by a signal other than Ctrl+C, still stop the servers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    install_missing()
    first_port = int(os.environ.get("PORT", "8000"))
    logs = Path(tempfile.mkdtemp(prefix="example-scale-"))
    print(f"The servers' logs are in {logs}")
    with ExitStack() as stack:
        database = stack.enter_context(postgresql(log_path=logs / "postgresql.log"))
        print(f"{database.name} on 127.0.0.1:{database.port}")
        cache = stack.enter_context(redis(log_path=logs / "redis.log"))
        print(f"redis-server on 127.0.0.1:{cache.port}")
        env = {
            "PYTHONPATH": str(EXAMPLE),
            "EXAMPLE_DATABASE_URL": create_database(database.url, "example"),
            "EXAMPLE_REDIS_URL": cache.url,
        }
        manage("migrate", "--noinput", "--verbosity", "0", env={**os.environ, **env})
        manage("demo_users", env={**os.environ, **env, "PORT": str(first_port)})
        servers = [
            stack.enter_context(
                uvicorn(
                    "example_site.asgi:application",
                    cwd=EXAMPLE,
                    settings="example_site.settings",
                    env=env,
                    ready_path="/login/",
                    options=("--lifespan", "off"),  # Django has no lifespan events
                    port=port,
                    log_path=logs / f"uvicorn-{port}.log",
                )
            )
            for port in (first_port, first_port + 1)
        ]
        print(
            f"Serving the example site on {servers[0].url}/ and {servers[1].url}/ "
            "(Ctrl+C to stop)",
            flush=True,
        )
        try:
            while all(server.process.poll() is None for server in servers):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
