"""The CPU one resolution of a logged-in session costs, native and threaded, in one process.

Run from the repository root, with django-async-backend and psycopg-pool
installed: ``python bench/native_cpu.py [--resolutions N] [--rounds R]``.
Starts a throwaway PostgreSQL server (``devtools/servers.py``), adds a user with
two permissions and a session, then resolves that session (user and model
permissions, as a view with ``PermissionRequiredMixin`` has the middleware
do) ``N`` times per way, each with a fresh session object as a request has:

- native: ``identity.aresolve_session()`` in native mode (django-async-backend's engine,
  ``OPTIONS["pool"]``), on one event loop;
- threaded: the same call with its one thread hop, each in a
  ``ThreadSensitiveContext`` of its own as Django's ASGI handler runs a
  request (a new thread, on Django's sync connection pool);
- Django: ``django.contrib.auth.get_user()`` and ``user.get_all_permissions()``
  in a new thread per request, on Django's sync pool.

Printed: CPU time per resolution (``time.process_time()``, this process
only: the server's is not counted), wall time, the least and the median of
``R`` rounds (on a busy machine the least is the steadier figure).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _configure(url: str) -> None:
    import django
    from django.conf import settings

    from devtools.databases import ASYNC_ENGINE, django_database

    settings.configure(
        SECRET_KEY="bench-only",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "async_auth_views",
            "django_async_backend",
        ],
        DATABASES={
            "default": {
                **django_database(url),
                "ENGINE": ASYNC_ENGINE,
                "OPTIONS": {"pool": True},
            }
        },
        USE_TZ=True,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        # The threaded ways connect Django's sync wrapper with a pool, which
        # the engine warns about; native mode never does.
        ASYNC_BACKEND_DISABLE_POOL_WARNING=True,
    )
    django.setup()


def _session() -> str:
    from django.contrib.auth.models import Permission, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password="pw")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_user", "change_user"])
    )
    client = Client()
    client.force_login(user)
    key = client.cookies["sessionid"].value
    assert SessionStore(key).get("_auth_user_id") == str(user.pk)
    return key


async def _native(key: str) -> Any:
    from django.contrib.sessions.backends.db import SessionStore

    from async_auth_views.identity import aresolve_session

    resolved = await aresolve_session(SessionStore(key), with_permissions=True)
    user = resolved.user
    assert user.is_authenticated and hasattr(user, "_perm_cache")
    return user


async def _threaded(key: str) -> Any:
    from asgiref.sync import ThreadSensitiveContext, sync_to_async
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import close_old_connections

    from async_auth_views.identity import resolve_session

    async with ThreadSensitiveContext():
        resolved = await sync_to_async(resolve_session)(
            SessionStore(key), with_permissions=True
        )
        user = resolved.user
        await sync_to_async(close_old_connections)()  # request_finished
    assert user.is_authenticated
    return user


async def _django(key: str) -> Any:
    from asgiref.sync import ThreadSensitiveContext, sync_to_async
    from django.contrib import auth
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import close_old_connections

    class Request:
        session = SessionStore(key)

    def resolve() -> Any:
        user = auth.get_user(Request())  # type: ignore[arg-type]
        user.get_all_permissions()
        close_old_connections()  # request_finished
        return user

    async with ThreadSensitiveContext():
        user = await sync_to_async(resolve)()
    assert user.is_authenticated
    return user


async def _measure(
    way: Callable[[str], Awaitable[Any]], key: str, n: int
) -> tuple[float, float]:
    await way(key)  # connects, compiles
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await way(key)
    return (time.process_time() - cpu) / n, (time.perf_counter() - wall) / n


async def _all(key: str, n: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    from asgiref.sync import AsyncToSync

    from async_auth_views.native.engine import caller_thread_waits

    assert not caller_thread_waits() and not AsyncToSync.loop_thread_executors
    found: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for name, way in (
            ("native", _native),
            ("threaded", _threaded),
            ("Django", _django),
        ):
            found.setdefault(name, []).append(await _measure(way, key, n))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from devtools.databases import create_database
    from devtools.servers import postgresql

    with postgresql() as server:
        url = create_database(server.url, "native_cpu")
        _configure(url)
        key = _session()
        found = asyncio.run(_all(key, args.resolutions, args.rounds))
    print(f"{args.resolutions} resolutions x {args.rounds} rounds, ms per resolution:")
    print(f"{'way':10} {'CPU least':>10} {'CPU median':>11} {'wall median':>12}")
    for name, runs in found.items():
        cpu = [c * 1000 for c, _ in runs]
        wall = [w * 1000 for _, w in runs]
        print(
            f"{name:10} {min(cpu):10.3f} {statistics.median(cpu):11.3f} "
            f"{statistics.median(wall):12.3f}"
        )


if __name__ == "__main__":
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    main()
