"""What every test module shares: the logs of the servers a failed test used."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from tests.servers import Server


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
