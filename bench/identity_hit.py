"""The CPU one identity-cache hit costs, in one process, against a real ``redis-server``.

Run from the repository root: ``python bench/identity_hit.py [--hits N] [--rounds R]``.
One logged-in session's entry is filled, then ``identity.aresolve_session()`` is called
``N`` times on the event loop, each with a fresh session object as a request
would have. Printed per cache (``LocMemCache``, ``RedisCache``): CPU time per
hit (``time.process_time()``, this process only: the server's is not counted),
wall time per hit, and the Redis commands and round trips each hit sends
(``INFO commandstats`` before and after; commands a script runs count too).
The least and the median of ``R`` rounds: on a busy machine the least is the
steadier figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.pop("TEST_DATABASE_URL", None)  # SQLite: tests.settings' default

import django
from django.conf import settings

django.setup()
# A file, not ":memory:": the miss that fills the entry runs in a thread.
settings.DATABASES["default"]["NAME"] = os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"identity-hit-{os.getpid()}.sqlite3"
)

import redis  # noqa: E402
from django.contrib.auth.models import Permission, User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from async_auth_views.identity import aresolve_session  # noqa: E402
from devtools import servers  # noqa: E402


def _commands(server: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = server.info("commandstats")
    return {name: int(value["calls"]) for name, value in stats.items()}


async def _hits(
    session_key: str, hits: int, server: redis.Redis | None = None
) -> tuple[float, float, dict[str, float]]:
    """(CPU seconds, wall seconds, Redis commands per hit) for ``hits``
    resolutions of ``session_key``, after one that connects."""
    await aresolve_session(SessionStore(session_key))
    before = {} if server is None else _commands(server)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(hits):
        user = (await aresolve_session(SessionStore(session_key))).user
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    after = {} if server is None else _commands(server)
    assert user.is_authenticated, "a hit must be alice"
    sent = {
        name.removeprefix("cmdstat_"): (calls - before.get(name, 0)) / hits
        for name, calls in after.items()
        if name != "cmdstat_info" and calls != before.get(name, 0)
    }
    return cpu, wall, sent


def _measure(
    name: str,
    caches: dict[str, Any],
    args: argparse.Namespace,
    server: redis.Redis | None,
) -> None:
    with override_settings(CACHES=caches, ASYNC_AUTH_IDENTITY_CACHE="identity"):
        client = Client()
        client.force_login(User.objects.get(username="alice"))
        session_key = client.session.session_key
        assert session_key is not None
        asyncio.run(_hits(session_key, 1))  # the miss that fills the entry
        rounds = [
            asyncio.run(_hits(session_key, args.hits, server))
            for _ in range(args.rounds)
        ]
    cpu = [r[0] / args.hits * 1e6 for r in rounds]
    wall = [r[1] / args.hits * 1e6 for r in rounds]
    print(
        f"{name:6} CPU µs/hit min {min(cpu):6.1f} median {statistics.median(cpu):6.1f}"
        f"  wall µs/hit min {min(wall):6.1f} median {statistics.median(wall):6.1f}"
        f"  commands/hit {rounds[-1][2] or '-'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    call_command("migrate", verbosity=0, run_syncdb=True)
    alice = User.objects.create_user("alice", password="alice-pass")
    alice.user_permissions.add(Permission.objects.get(codename="add_user"))
    locmem = "django.core.cache.backends.locmem.LocMemCache"
    try:
        with servers.redis() as redis_server:
            url = redis_server.url
            server = redis.Redis.from_url(url)
            backend = "django.core.cache.backends.redis.RedisCache"
            for name, identity, watched in (
                ("locmem", {"BACKEND": locmem}, None),
                ("redis", {"BACKEND": backend, "LOCATION": url}, server),
            ):
                caches = {"default": {"BACKEND": locmem}, "identity": identity}
                _measure(name, caches, args, watched)
            server.close()
    finally:
        os.unlink(settings.DATABASES["default"]["NAME"])


if __name__ == "__main__":
    main()
