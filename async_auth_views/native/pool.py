"""Async connections for the auth path: one small pool per event loop.

django-async-backend keeps one pool per database for the whole process, and a
pool belongs to the event loop that opened it: Django runs each async test on
a new loop, and a pool reused there cannot grow, nor be closed. So the auth
path borrows its connections from a pool of its own per loop, for the few
milliseconds of its queries, and the loop's pools close when the loop ends.
With ``OPTIONS["pool"]`` unset, a connection lives as ``CONN_MAX_AGE`` says
(0, the default: opened and closed per borrow, as django-async-backend does
per request); either way no more are open at once than a pool's size. A task already inside
``async_atomic()`` on the database is read through that transaction's
connection instead, as Django's sync code reads through the thread's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from django.db import OperationalError, connections
from django.db.backends.signals import connection_created

from .engine import async_engine

#: psycopg_pool's defaults, which ``OPTIONS["pool"]`` sizes as for the engine.
_DEFAULT_SIZE = 4
_DEFAULT_TIMEOUT = 30.0


class Runner:
    """Runs statements on one borrowed connection, through the engine's cursor
    wrapper (its error mapping, its ``execute_wrapper()`` hooks, its query log)."""

    def __init__(self, connection: Any, wrapper: Any) -> None:
        self._connection = connection
        self.wrapper = wrapper

    def _cursor(self) -> Any:
        wrapper = self.wrapper
        raw = self._connection.cursor()
        if wrapper.queries_logged:
            return wrapper.make_debug_cursor(raw)
        return wrapper.make_cursor(raw)

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows ``sql`` returns."""
        async with self._cursor() as cursor:
            await cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
            return rows

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run ``sql``; the number of rows it changed."""
        async with self._cursor() as cursor:
            await cursor.execute(sql, params)
            count: int = cursor.rowcount
            return count


class _TaskRunner(Runner):
    """A task's own connection, inside its ``async_atomic()`` block."""

    def _cursor(self) -> Any:
        raise NotImplementedError  # pragma: no cover - see fetch()

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async with await self.wrapper.cursor() as cursor:
            await cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
            return rows

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        async with await self.wrapper.cursor() as cursor:
            await cursor.execute(sql, params)
            count: int = cursor.rowcount
            return count


class _Pool:
    """The connections of one database on one event loop."""

    def __init__(self, alias: str, settings_dict: dict[str, Any]) -> None:
        engine = async_engine(alias)
        assert engine is not None
        # Never connected itself: it builds the connection parameters, maps
        # errors and wraps cursors exactly as the engine does.
        self.wrapper = engine.AsyncDatabaseWrapper(settings_dict, alias)
        self.settings_dict = settings_dict
        options = settings_dict.get("OPTIONS", {})
        self.pool_options = options.get("pool")
        pool = {} if self.pool_options is True else (self.pool_options or {})
        size = pool.get("max_size") or pool.get("min_size") or _DEFAULT_SIZE
        # Never more connections at once than a pool's size, pooled or not: a
        # burst of sockets opening must not exhaust the server's connections.
        self._slots = asyncio.Semaphore(size)
        self._timeout = float(pool.get("timeout", _DEFAULT_TIMEOUT))
        # Without a pool, connections live as CONN_MAX_AGE says (0: per borrow).
        self._max_age: float | None = (
            None if self.pool_options else settings_dict.get("CONN_MAX_AGE", 0)
        )
        self._born: dict[int, float] = {}
        self._idle: list[Any] = []
        self._closed = False

    def serves(self, settings_dict: dict[str, Any]) -> bool:
        options = settings_dict.get("OPTIONS", {})
        return settings_dict is self.settings_dict and (
            options.get("pool") == self.pool_options
        )

    async def _connect(self) -> Any:
        wrapper = self.wrapper
        params = wrapper.get_connection_params()
        with wrapper.wrap_database_errors:
            connection = await wrapper.Database.AsyncConnection.connect(
                **params, autocommit=True
            )
            try:
                options = self.settings_dict.get("OPTIONS", {})
                if "isolation_level" in options:
                    from psycopg import IsolationLevel

                    await connection.set_isolation_level(
                        IsolationLevel(options["isolation_level"])
                    )
                await wrapper._configure_timezone(connection)
                if role := options.get("assume_role"):
                    async with connection.cursor() as cursor:
                        await cursor.execute("SET ROLE %s", [role])
                # As the engine's connect() sends it (a project's SET search_path).
                wrapper.connection = connection
                try:
                    connection_created.send(sender=type(wrapper), connection=wrapper)
                finally:
                    wrapper.connection = None
            except BaseException:
                await connection.close()
                raise
        return connection

    async def acquire(self) -> Any:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout)
        except asyncio.TimeoutError:
            raise OperationalError(
                f"No connection to database {self.wrapper.alias!r} was free "
                f"within {self._timeout} seconds."
            ) from None
        try:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
                self._born.pop(id(connection), None)
            connection = await self._connect()
            self._born[id(connection)] = time.monotonic()
            return connection
        except BaseException:
            self._slots.release()
            raise

    def _keeps(self, connection: Any) -> bool:
        from psycopg.pq import TransactionStatus

        if (
            self._closed
            or connection.closed
            or connection.info.transaction_status != TransactionStatus.IDLE
        ):
            return False
        if self.pool_options or self._max_age is None:
            return True
        age = time.monotonic() - self._born.get(id(connection), 0.0)
        return age < self._max_age

    async def release(self, connection: Any, reusable: bool) -> None:
        try:
            if reusable and self._keeps(connection):
                self._idle.append(connection)
            else:
                self._born.pop(id(connection), None)
                await connection.close()
        finally:
            self._slots.release()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle, self._born = self._idle, [], {}
        for connection in idle:
            await connection.close()

    def abandon(self) -> None:
        """Close the idle connections of a loop that closed without ending its
        async generators: nothing can run on it, so their sockets are shut."""
        self._closed = True
        idle, self._idle, self._born = self._idle, [], {}
        for connection in idle:
            connection.pgconn.finish()


class _LoopPools:
    """The pools of one event loop, closed when the loop shuts down.

    ``asyncio.run()`` (and every ASGI server) closes the async generators
    still open when its loop ends: a generator parked for the loop's lifetime
    closes the pools then, on their own loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pools: dict[str, _Pool] = {}
        self._lifetime = self._until_shutdown(loop)

    async def start(self) -> None:
        await anext(self._lifetime)

    async def _until_shutdown(
        self, loop: asyncio.AbstractEventLoop
    ) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if _by_loop.get(loop) is self:
                del _by_loop[loop]
            pools, self.pools = list(self.pools.values()), {}
            for pool in pools:
                await pool.close()


_by_loop: dict[asyncio.AbstractEventLoop, _LoopPools] = {}


async def _pool(alias: str) -> _Pool:
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        for old in [old for old in _by_loop if old.is_closed()]:
            for stale in _by_loop.pop(old).pools.values():
                stale.abandon()
        found = _by_loop[loop] = _LoopPools(loop)
        await found.start()
    settings_dict = connections.settings[alias]
    pool = found.pools.get(alias)
    if pool is not None and pool.serves(settings_dict):
        return pool
    if pool is not None:
        await pool.close()
    new = found.pools[alias] = _Pool(alias, settings_dict)
    return new


def _task_connection(alias: str) -> Any | None:
    """The task's own connection to ``alias`` when it is inside ``async_atomic()``."""
    from django_async_backend.db import async_connections  # type: ignore[import-untyped]

    try:
        wrapper = getattr(async_connections._connections, alias)
    except AttributeError:
        return None
    owner = wrapper._task
    if wrapper.in_atomic_block and (owner is None or owner is asyncio.current_task()):
        return wrapper
    return None


@asynccontextmanager
async def borrowed(alias: str) -> AsyncIterator[Runner]:
    """A connection to ``alias`` for the auth path's queries, returned after."""
    shared = _task_connection(alias)
    if shared is not None:
        yield _TaskRunner(None, shared)
        return
    pool = await _pool(alias)
    connection = await pool.acquire()
    reusable = False
    try:
        yield Runner(connection, pool.wrapper)
        reusable = True
    finally:
        await pool.release(connection, reusable)


__all__ = ["Runner", "borrowed"]
