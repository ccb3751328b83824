"""Counting what a request costs: SQL statements and ``sync_to_async`` thread hops.

Use from a *sync* test method: the request runs through ``async_to_sync`` so that
thread-sensitive hops come back to the test thread, whose database connection
``CaptureQueriesContext`` watches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass
class Cost:
    sql: list[str] = field(default_factory=list)
    hops: list[str] = field(default_factory=list)
    response: Any = None

    def __sub__(self, baseline: Cost) -> tuple[int, int]:
        """(extra SQL statements, extra hops) compared with ``baseline``."""
        return len(self.sql) - len(baseline.sql), len(self.hops) - len(baseline.hops)


@contextmanager
def counting_hops() -> Iterator[list[str]]:
    """Record the name of every function sent to a thread with ``sync_to_async``."""
    hops: list[str] = []
    original = SyncToAsync.__call__

    async def counted(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:  # type: ignore[type-arg]
        func = self.func
        hops.append(getattr(func, "__qualname__", None) or type(func).__qualname__)
        return await original(self, *args, **kwargs)

    SyncToAsync.__call__ = counted  # type: ignore[method-assign]
    try:
        yield hops
    finally:
        SyncToAsync.__call__ = original  # type: ignore[method-assign]


def cost_of(client: Any, method: str, path: str, **kwargs: Any) -> Cost:
    """Send one request with an ``AsyncClient`` and count what it cost."""
    cost = Cost()
    with counting_hops() as hops, CaptureQueriesContext(connection) as queries:
        cost.response = async_to_sync(getattr(client, method))(path, **kwargs)
    cost.hops = hops
    cost.sql = [q["sql"] for q in queries.captured_queries]
    return cost
