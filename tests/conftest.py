"""What every test module shares.

The log of every server a failed test used is attached to its report.

And the SQLite connections that requests open in threads of their own are
closed. The test database is SQLite in memory. Django's ASGI handler runs each
request's sync code in a thread of its own (``ThreadSensitiveContext``), where
the request opens its own connection, and ``request_finished`` asks it to
close. Django's SQLite backend ignores ``close()`` on an in-memory database
(the last connection's close drops the data), so the connection stays open
until the finished thread's locals are garbage collected, and Python 3.13
warns then: ``ResourceWarning: unclosed database``. On a file or a server
database ``request_finished`` closes it; here the test thread's connection
keeps the database alive, so closing the others does the same.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from devtools.servers import Server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log of every server a failed test used to its report."""
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            servers = value if isinstance(value, tuple) else (value,)
            for server in servers:
                if isinstance(server, Server):
                    report.sections.append((f"{server.name} log", server.log()))
    return report


def close_request_thread_connections(**kwargs: Any) -> None:
    """Close this thread's in-memory SQLite connections, unless it is the test's."""
    if threading.current_thread() is threading.main_thread():
        return
    for connection in connections.all(initialized_only=True):
        if (
            connection.vendor == "sqlite"
            and connection.is_in_memory_db()  # type: ignore[attr-defined]
            and not connection.allow_thread_sharing
        ):
            BaseDatabaseWrapper.close(connection)


@pytest.fixture(scope="session", autouse=True)
def _close_request_thread_connections() -> Iterator[None]:
    request_finished.connect(close_request_thread_connections)
    yield
    request_finished.disconnect(close_request_thread_connections)
