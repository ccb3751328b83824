"""Per-request SQL statements, new database connections and ``sync_to_async`` hops.

Run in its own process per server's settings (the environment ``bench/run.py``
gives that server: database, pool, identity cache), with Django's
``AsyncClient`` against the benchmark database::

    python counts.py SESSION_KEY /ceiling/ /ours/ ...

prints JSON: ``{path: {"authenticated"|"anonymous": {"sql", "connections",
"hops", "hop_names"}}}``. Statements are counted on ``CursorWrapper`` rather
than with ``CaptureQueriesContext``, which sees one thread's connection only,
while the requests query from ``sync_to_async`` threads. Connections are closed
before each request, as ``CONN_MAX_AGE = 0`` does after each request of a server
(with Django's connection pool, a "new connection" is one taken from the pool).

Each path is requested ``REPEAT`` times and the last request is reported: the
earlier ones fill Django's caches (content types, URL resolver) and, with
``ASYNC_AUTH_IDENTITY_CACHE`` on, the identity cache, so its figures are those
of a warm request, as nearly every request of a server is.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

from asgiref.sync import SyncToAsync, sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.db.backends.utils import CursorWrapper  # noqa: E402
from django.test import AsyncClient  # noqa: E402

REPEAT = 3
#: Pages that answer anonymous visitors too (200, not the login redirect).
PUBLIC = ("/bare/", "/ceiling/", "/plain-ours/", "/plain-django/")


class Tally:
    """What one request did; counting only while ``active``."""

    active = False
    sql = 0
    connections = 0
    hops: list[str] = []  # noqa: RUF012

    @classmethod
    def start(cls) -> None:
        cls.sql, cls.connections, cls.hops, cls.active = 0, 0, [], True


def _name(func: object) -> str:
    # Never repr() func: the repr of a QuerySet (or a lazy user) runs a query.
    name = getattr(func, "__qualname__", None)
    if name is None:
        inner = getattr(func, "func", None)  # functools.partial
        return (
            f"partial({_name(inner)})" if inner is not None else type(func).__qualname__
        )
    return str(name)


def _install_counters() -> None:
    def counting(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: CursorWrapper, *args: Any, **kwargs: Any) -> Any:
            if Tally.active:
                Tally.sql += 1
            return method(self, *args, **kwargs)

        return wrapper

    CursorWrapper.execute = counting(CursorWrapper.execute)  # type: ignore[method-assign]
    CursorWrapper.executemany = counting(CursorWrapper.executemany)  # type: ignore[method-assign]
    try:  # django-async-backend's cursors: native mode's statements
        from django_async_backend.db.backends.utils import AsyncCursorWrapper
    except ImportError:
        pass
    else:
        for name in ("execute", "executemany"):
            setattr(
                AsyncCursorWrapper, name, counting(getattr(AsyncCursorWrapper, name))
            )

    original_call = SyncToAsync.__call__

    def hop(self: SyncToAsync[Any, Any], *args: Any, **kwargs: Any) -> Any:
        if Tally.active:
            Tally.hops.append(_name(self.func))
        return original_call(self, *args, **kwargs)

    SyncToAsync.__call__ = hop  # type: ignore[method-assign]

    def created(**kwargs: Any) -> None:
        if Tally.active:
            Tally.connections += 1

    connection_created.connect(created, weak=False)


async def _one(path: str, cookie: str | None) -> dict[str, Any]:
    await sync_to_async(connections.close_all)()
    client = AsyncClient()
    if cookie:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    Tally.start()
    try:
        response = await client.get(path)
    finally:
        Tally.active = False
    expected = 200 if cookie else 302
    if path in PUBLIC:
        expected = 200
    if response.status_code != expected:
        raise SystemExit(f"{path}: status {response.status_code}, expected {expected}")
    return {
        "sql": Tally.sql,
        "connections": Tally.connections,
        "hops": len(Tally.hops),
        "hop_names": sorted(Tally.hops),
    }


async def _count(cookie: str, paths: list[str]) -> dict[str, dict[str, Any]]:
    _install_counters()
    result: dict[str, dict[str, Any]] = {}
    for path in paths:
        result[path] = {}
        for traffic, key in (("authenticated", cookie), ("anonymous", None)):
            runs = [await _one(path, key) for _ in range(REPEAT)]
            # The earlier requests warm the caches (see above): keep the last.
            result[path][traffic] = runs[-1]
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_count(sys.argv[1], sys.argv[2:]))))
