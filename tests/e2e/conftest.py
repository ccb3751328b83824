"""Fixtures that serve an ASGI app with a real uvicorn, for tests over HTTP."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol

import pytest

from devtools.databases import plain_url, throwaway_database
from devtools.servers import Server, uvicorn

from . import example


class StartServer(Protocol):
    """What the ``start_server`` fixture returns."""

    def __call__(
        self,
        app: str,
        *,
        cwd: Path,
        settings: str,
        env: Mapping[str, str] | None = None,
        ready_path: str = "/",
    ) -> Server: ...


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """Start uvicorn servers for this module; all are stopped when it is done.

    ``start_server(app, cwd=..., settings=..., env=None, ready_path="/")``
    serves ``app`` (``"module:attribute"``) from ``cwd`` with the Django
    settings module ``settings`` and ``env`` added to this process's
    environment; it returns the ``Server`` once ``ready_path`` answers.
    """
    servers: list[Server] = []

    def start(
        app: str,
        *,
        cwd: Path,
        settings: str,
        env: Mapping[str, str] | None = None,
        ready_path: str = "/",
    ) -> Server:
        log_path = tmp_path_factory.mktemp("uvicorn") / "server.log"
        server = uvicorn(
            app,
            cwd=cwd,
            settings=settings,
            env=env,
            ready_path=ready_path,
            log_path=log_path,
        )
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def example_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh database set up as ``run.py demo`` does; the site's env. On the
    suite's PostgreSQL server where it runs on one, a SQLite file otherwise."""
    with throwaway_database("example") as url:
        if url is None:
            env = example.site_env(tmp_path_factory.mktemp("example") / "db.sqlite3")
        else:
            # The example reads postgresql:// URLs only (its own engine).
            env = example.site_env(database_url=plain_url(url))
        example.manage("migrate", "--noinput", env=env)
        example.manage("demo_users", env=env)
        yield env


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
