"""Which database the test suite runs on, and throwaway PostgreSQL databases.

The suite runs on SQLite unless ``ASYNC_AUTH_TEST_DATABASE_URL`` names a
PostgreSQL database (``postgresql://user[:password]@host:port/name``): then
``tests/settings.py`` uses it with psycopg 3 (pytest-django creates and drops
``test_<name>`` beside it), and the end-to-end tests create a database of their
own on the same server for the servers they start. ``python -m devtools.servers
postgresql -- pytest`` starts a throwaway server and sets the variable.

The scheme ``postgresql+async://`` serves the same database with
django-async-backend's engine (native mode, ``docs/native.rst``), and the
query ``?pool=1`` sets its ``OPTIONS["pool"]``: ``python -m devtools.servers
postgresql --scheme postgresql+async -- pytest``.

Nothing here imports Django or psycopg at import time: settings modules and
bench scripts import it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

TEST_DATABASE_URL = "ASYNC_AUTH_TEST_DATABASE_URL"


def suite_database_url() -> str | None:
    """The PostgreSQL database the suite runs on; None for SQLite."""
    return os.environ.get(TEST_DATABASE_URL) or None


#: The engine of each URL scheme.
ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "postgresql+async": "django_async_backend.db.backends.postgresql",
}
ASYNC_ENGINE = ENGINES["postgresql+async"]


def django_database(url: str) -> dict[str, Any]:
    """The ``DATABASES`` entry for a ``postgresql://`` (or ``postgresql+async://``) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ENGINES or not parts.path.strip("/"):
        raise ValueError(
            f"A database URL looks like postgresql://user@127.0.0.1:5432/name, "
            f"not {url!r}."
        )
    database: dict[str, Any] = {
        "ENGINE": ENGINES[parts.scheme],
        "NAME": unquote(parts.path.strip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    if "pool=1" in parts.query.split("&"):
        database["OPTIONS"] = {"pool": True}
    return database


def is_async_engine(url: str | None) -> bool:
    """Whether ``url`` names django-async-backend's engine (native mode)."""
    return url is not None and urlsplit(url).scheme == "postgresql+async"


def plain_url(url: str) -> str:
    """``url`` as psycopg reads it: ``postgresql://``, without our query."""
    return urlsplit(url)._replace(scheme="postgresql", query="").geturl()


def _with_name(url: str, name: str) -> str:
    """``url`` naming database ``name`` on the same server."""
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def _execute(url: str, statement: str, name: str) -> None:
    """Run ``statement`` with ``name`` as its quoted identifier, from the
    server's ``postgres`` database, outside a transaction."""
    import psycopg
    from psycopg import sql

    query = sql.SQL(statement).format(sql.Identifier(name))
    server = plain_url(_with_name(url, "postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(query)


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url``; return its URL."""
    _execute(url, "CREATE DATABASE {}", name)
    return _with_name(url, name)


def drop_database(url: str) -> None:
    """Drop the database ``url`` names, closing its open connections."""
    _execute(
        url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", django_database(url)["NAME"]
    )


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str | None]:
    """A new database on the suite's PostgreSQL server, dropped afterwards;
    None when the suite runs on SQLite."""
    url = suite_database_url()
    if url is None:
        yield None
        return
    database = create_database(url, f"{prefix}_{uuid.uuid4().hex[:12]}")
    try:
        yield database
    finally:
        drop_database(database)
