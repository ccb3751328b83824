"""Fixtures that serve an ASGI app with a real uvicorn, for tests over HTTP."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from pathlib import Path

import pytest

from . import example
from .server import Server, StartServer, start_uvicorn, wait_until_answering


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """Start uvicorn servers for this module; all are stopped when it is done.

    ``start_server(app, cwd=..., env=None, settings=None, ready_path="/")``
    serves ``app`` (``"module:attribute"``) on a free port of 127.0.0.1 from
    ``cwd``, with ``env`` added to this process's environment and
    ``DJANGO_SETTINGS_MODULE`` set to ``settings``; it returns the ``Server``
    once ``ready_path`` answers.
    """
    servers: list[Server] = []

    def start(
        app: str,
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        settings: str | None = None,
        ready_path: str = "/",
    ) -> Server:
        log_path = tmp_path_factory.mktemp("uvicorn") / "server.log"
        server = start_uvicorn(
            app, cwd=cwd, log_path=log_path, env=env, settings=settings
        )
        servers.append(server)
        wait_until_answering(server, ready_path)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def example_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh SQLite database set up as ``run.py demo`` does; the site's env."""
    env = example.site_env(tmp_path_factory.mktemp("example") / "db.sqlite3")
    example.manage("migrate", "--noinput", env=env)
    example.manage("demo_users", env=env)
    return env


@pytest.fixture(scope="module")
def example_site(start_server: StartServer, example_env: dict[str, str]) -> Server:
    """The example site, served by uvicorn on its own database, for this module."""
    return start_server(
        example.APP,
        cwd=example.EXAMPLE,
        env=example_env,
        settings=example.SETTINGS,
        ready_path="/login/",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log of every server a failed test used to its report."""
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, Server):
                report.sections.append((f"uvicorn {value.app} log", value.log()))
    return report
