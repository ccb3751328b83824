"""What the native-mode tests share: committed data, fresh loops, counting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connections

from async_auth_views.native.pool import Runner
from devtools.databases import is_async_engine, suite_database_url

T = TypeVar("T")

needs_async_engine = pytest.mark.skipif(
    not is_async_engine(suite_database_url()),
    reason="native mode needs django-async-backend's engine "
    "(ASYNC_AUTH_TEST_DATABASE_URL=postgresql+async://...)",
)


def on_new_loop(func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` on a loop of its own that no sync thread waits on,
    as Django's ASGI handler runs a request under uvicorn or daphne
    (``async_to_sync`` would make the caller wait). A thread hop runs in a
    thread of the block's own, whose connection is closed at the end."""

    async def main() -> T:
        async with ThreadSensitiveContext():
            try:
                return await func(*args, **kwargs)
            finally:
                await sync_to_async(connections.close_all)()

    return asyncio.run(main())


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_for(
    user: Any, store: type | None = None, backend: str = MODEL_BACKEND, **data: Any
) -> str:
    """A committed session logged in as ``user`` (as ``login()`` leaves it), with ``data``."""
    from django.contrib.sessions.backends.db import SessionStore

    session = (store or SessionStore)()
    if user is not None:
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    for key, value in data.items():
        if value is None:
            session.pop(key, None)
        else:
            session[key] = value
    session.create()
    session.save()
    return str(session.session_key)


@contextmanager
def native_sql() -> Iterator[list[str]]:
    """Record every statement the native path runs on its own connections."""
    statements: list[str] = []
    fetch, execute = Runner.fetch, Runner.execute

    async def counted_fetch(self: Runner, sql: str, params: Any) -> Any:
        statements.append(sql)
        return await fetch(self, sql, params)

    async def counted_execute(self: Runner, sql: str, params: Any) -> Any:
        statements.append(sql)
        return await execute(self, sql, params)

    Runner.fetch = counted_fetch  # type: ignore[method-assign]
    Runner.execute = counted_execute  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        Runner.fetch = fetch  # type: ignore[method-assign]
        Runner.execute = execute  # type: ignore[method-assign]


@contextmanager
def pool_option(value: Any) -> Iterator[None]:
    """``DATABASES["default"]["OPTIONS"]["pool"]`` set to ``value`` for the block."""
    options = connections.settings["default"].setdefault("OPTIONS", {})
    missing = object()
    before = options.get("pool", missing)
    options["pool"] = value
    try:
        yield
    finally:
        if before is missing:
            options.pop("pool", None)
        else:
            options["pool"] = before


def server_connections(settles_at: int | None = None) -> int:
    """Connections to the test database open on the server, other than the one
    that counts (a connection of its own, so no thread keeps one open).

    A server process outlives its client's close by a moment: with
    ``settles_at``, counts again for up to two seconds until there are no more.
    """
    deadline = time.monotonic() + 2
    while True:
        count = _count_connections()
        if settles_at is None or count <= settles_at or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


def _count_connections() -> int:
    import psycopg

    database = connections.settings["default"]
    with psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"],
        host=database["HOST"],
        port=database["PORT"],
        autocommit=True,
    ) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


__all__ = [
    "MODEL_BACKEND",
    "native_sql",
    "needs_async_engine",
    "on_new_loop",
    "pool_option",
    "server_connections",
    "session_for",
]
