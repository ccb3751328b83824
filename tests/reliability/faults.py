"""Real failing components for the fault-injection tests.

Faults are injected where they happen in production: the database refuses to
read a table (as a locked, lost or corrupted database does), and
authentication backends whose user or permission store is down. Nothing in the
database layer is mocked: SQLite's authorizer denies the read, PostgreSQL
answers with an error of its own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.db import connections, transaction

#: The faults switched on now, by name; see fault().
FAULTS: set[str] = set()

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
FLAKY_BACKEND = f"{__name__}.FlakyBackend"
ASYNC_FLAKY_BACKEND = f"{__name__}.AsyncFlakyBackend"


@contextmanager
def fault(name: str) -> Iterator[None]:
    """Switch the fault ``name`` on for the duration of the block."""
    FAULTS.add(name)
    try:
        yield
    finally:
        FAULTS.discard(name)


def _allow(*args: Any) -> int:
    return sqlite3.SQLITE_OK


@contextmanager
def refusing(*tables: str, using: str = "default") -> Iterator[None]:
    """The database refuses to read ``tables`` for the duration of the block.

    Every statement touching them raises ``DatabaseError`` ("access to
    auth_user... is prohibited"), prepared statements included.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with _postgresql_refusing(tables, using):
            yield
        return
    connection.ensure_connection()
    raw = connection.connection

    def authorizer(action: int, arg1: str | None, *rest: Any) -> int:
        if action == sqlite3.SQLITE_READ and arg1 in tables:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    raw.set_authorizer(authorizer)
    try:
        yield
    finally:
        raw.set_authorizer(_allow)  # None needs Python 3.11+


#: Views that shadow the refused tables, first on the search path: reading one
#: raises, from PostgreSQL itself.
_REFUSED_SCHEMA = "refused"
_REFUSE_FUNCTION = f"""
CREATE FUNCTION {_REFUSED_SCHEMA}.refuse(name text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RAISE EXCEPTION 'access to % is prohibited', name;
END
$$
"""


@contextmanager
def _postgresql_refusing(tables: tuple[str, ...], using: str) -> Iterator[None]:
    """PostgreSQL's ``refusing()``.

    In a test transaction (``TestCase``) the views and the search path live in
    a savepoint, rolled back after the block, which also ends the transaction's
    aborted state that the refused statement leaves, as autocommit would. In
    autocommit (``TransactionTestCase``), where Channels' database calls close
    the connection after each use, the database's own search path names the
    views, so that a reopened connection is refused too; both are undone after.
    """
    connection = connections[using]
    in_test_transaction = connection.in_atomic_block
    path = f"{_REFUSED_SCHEMA}, public"
    statements = [f"CREATE SCHEMA {_REFUSED_SCHEMA}", _REFUSE_FUNCTION]
    statements += [
        f"CREATE VIEW {_REFUSED_SCHEMA}.{table} AS SELECT * FROM public.{table} "
        f"WHERE {_REFUSED_SCHEMA}.refuse('{table}')"
        for table in tables
    ]
    statements.append(f"SET search_path = {path}")
    database = connection.ops.quote_name(connection.settings_dict["NAME"])
    if in_test_transaction:
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
            try:
                yield
            finally:
                transaction.set_rollback(True, using=using)
        return
    statements.append(f"ALTER DATABASE {database} SET search_path = {path}")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    try:
        yield
    finally:
        with connections[using].cursor() as cursor:  # perhaps a new connection
            cursor.execute(f"ALTER DATABASE {database} RESET search_path")
            cursor.execute("RESET search_path")
            cursor.execute(f"DROP SCHEMA {_REFUSED_SCHEMA} CASCADE")


@asynccontextmanager
async def in_thread(context: AbstractContextManager[None]) -> AsyncIterator[None]:
    """Enter ``context`` from async code on the thread whose database connection
    thread-sensitive calls use (the test's own, under ``async_to_sync``)."""
    await sync_to_async(context.__enter__)()
    try:
        yield
    finally:
        await sync_to_async(context.__exit__)(None, None, None)


class FlakyBackend(ModelBackend):
    """``ModelBackend`` whose stores fail while the fault ``get_user`` or
    ``has_perm`` is on, as a remote user directory does when it is down."""

    def get_user(self, user_id: Any) -> Any:
        if "get_user" in FAULTS:
            raise ConnectionError("user store unavailable")
        return super().get_user(user_id)

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if "has_perm" in FAULTS:
            raise ConnectionError("permission store unavailable")
        return super().has_perm(user_obj, perm, obj)


class AsyncFlakyBackend(FlakyBackend):
    """A natively async permission backend (``ahas_perm`` of its own), failing alike."""

    async def ahas_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if "has_perm" in FAULTS:
            await asyncio.sleep(0)
            raise ConnectionError("async permission store unavailable")
        return await sync_to_async(super().has_perm)(user_obj, perm, obj)


async def checked_test_func(self: Any) -> bool:
    """An async ``test_func`` calling a remote service, which may fail or hang.

    Fault ``test_func_raises``: the service errors. Fault ``test_func_times_out``:
    it never answers and the check's own timeout (``asyncio.wait_for``) fires.
    Fault ``test_func_hangs``: it never answers and the check has no timeout.
    """
    if "test_func_raises" in FAULTS:
        raise ConnectionError("policy service unavailable")
    if "test_func_times_out" in FAULTS:
        await asyncio.wait_for(asyncio.Event().wait(), timeout=0.01)
    if "test_func_hangs" in FAULTS:
        HUNG.append("started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            HUNG.append("cancelled")
            raise
    return True


#: What a hung test_func went through: "started", then "cancelled".
HUNG: list[str] = []


#: Seconds after which a ``CLIENT PAUSE`` a test forgot to lift ends anyway.
SAFETY_NET = 120.0


class FaultyRedis:
    """A real ``redis-server`` that a test puts in the states production meets:
    full (``maxmemory``), slow (``CLIENT PAUSE WRITE``, ``SIGSTOP``), flushed,
    down, restarted.

    Clients keep its URL across a restart: it starts again on the same port.
    """

    def __init__(self) -> None:
        from devtools import servers

        self._servers = servers
        self.server = servers.redis()
        self.url = self.server.url
        self.port = self.server.port

    @contextmanager
    def admin(self) -> Iterator[Any]:
        """A client of its own, without timeouts: it waits out a pause."""
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            yield client
        finally:
            client.close()

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        """Start it again, empty (it saves nothing), on the same port."""
        self.server = self._servers.redis(port=self.port)

    @contextmanager
    def down(self) -> Iterator[None]:
        """Stopped in the block; started again, empty, after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def flush(self) -> None:
        with self.admin() as client:
            client.flushall()

    @contextmanager
    def full(self, policy: str = "noeviction", headroom: int = 0) -> Iterator[None]:
        """At ``maxmemory`` in the block: ``headroom`` bytes above what it uses now
        (0: every write needs memory it does not have), under ``policy``."""
        with self.admin() as client:
            used = int(client.info("memory")["used_memory"])
            client.config_set("maxmemory-policy", policy)
            client.config_set("maxmemory", str(used + headroom) if headroom else "1")
        try:
            yield
        finally:
            with self.admin() as client:
                client.config_set("maxmemory", "0")
                client.config_set("maxmemory-policy", "noeviction")

    def pause(self, mode: str = "ALL", seconds: float = 1.5) -> None:
        """``CLIENT PAUSE`` for ``seconds``, from now on."""
        with self.admin() as client:
            client.execute_command("CLIENT", "PAUSE", int(seconds * 1000), mode)

    @contextmanager
    def failover(self) -> Iterator[None]:
        """Writes wait for as long as the block lasts (``CLIENT PAUSE WRITE``, as
        a failover does; reads are served), then ``CLIENT UNPAUSE``. The pause's
        own clock is a safety net a loaded machine cannot outlast."""
        self.pause("WRITE", seconds=SAFETY_NET)
        try:
            yield
        finally:
            with self.admin() as client:
                client.execute_command("CLIENT", "UNPAUSE")

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every command waits for as long as the block lasts: the server's
        process is stopped (``SIGSTOP``), as behind a long-running command or a
        stalled host, and resumed (``SIGCONT``) after it. Connections are still
        accepted by the kernel; replies never come. A command whose client gave
        up runs when the server resumes, as it would behind a slow command.

        ``CLIENT PAUSE ALL`` cannot do this: it ends on its own clock only (its
        ``UNPAUSE`` waits too), which a loaded machine outlasts."""
        pid = self.server.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)
