"""What the benchmark measures: the servers (``SETUPS``) and the pages (``VARIANTS``).

Each setup is one process-wide configuration of the benchmark project (see
``project/settings.py``), served by its own uvicorn processes; each variant is
one page (a way to protect the view) on one setup, measured with one or both
kinds of traffic. Here too: starting the servers, checking that every page
answers as expected, and counting what each request costs (``counts.py``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from load import Measurement, serve, status

if TYPE_CHECKING:
    from devtools.servers import Server

BENCH = Path(__file__).resolve().parent
AUTHENTICATED, ANONYMOUS = "authenticated", "anonymous"
TRAFFIC = (AUTHENTICATED, ANONYMOUS)

SQLITE, POSTGRESQL, POSTGRESQL_POOL = "SQLite", "PostgreSQL", "PostgreSQL + pool"
#: The same PostgreSQL database, served by django-async-backend (native mode).
POSTGRESQL_NATIVE = "PostgreSQL + django-async-backend (pool)"
#: The databases, side by side in the report, in this order.
DATABASES = (SQLITE, POSTGRESQL, POSTGRESQL_POOL, POSTGRESQL_NATIVE)


@dataclass(frozen=True)
class Setup:
    """The process-wide settings of one server (see ``project/settings.py``)."""

    name: str
    database: str  # one of DATABASES
    identity_cache: str = ""  # "", "locmem" or "redis"
    #: uvicorn processes serving it, each taking an equal share of the load.
    processes: int = 1

    def env(self, postgresql_url: str, redis_url: str) -> dict[str, str]:
        env = {
            "BENCH_IDENTITY_CACHE": self.identity_cache,
            "BENCH_REDIS_URL": redis_url,
        }
        if self.database != SQLITE:
            pooled = self.database in (POSTGRESQL_POOL, POSTGRESQL_NATIVE)
            env["BENCH_DATABASE_URL"] = postgresql_url
            env["BENCH_DB_POOL"] = "1" if pooled else ""
            env["BENCH_DB_ENGINE"] = (
                "async" if self.database == POSTGRESQL_NATIVE else ""
            )
        return env


SETUPS = {
    setup.name: setup
    for setup in (
        Setup("sqlite", SQLITE),
        Setup("sqlite-locmem", SQLITE, identity_cache="locmem"),
        Setup("postgresql", POSTGRESQL),
        Setup("postgresql-pool", POSTGRESQL_POOL),
        Setup("postgresql-native", POSTGRESQL_NATIVE),
        # The multi-process deployment the identity-cache page recommends.
        Setup("postgresql-redis", POSTGRESQL, identity_cache="redis", processes=2),
    )
}


@dataclass(frozen=True)
class Variant:
    name: str
    path: str
    setup: str  # a key of SETUPS
    traffic: tuple[str, ...] = (AUTHENTICATED,)


CEILING = "ceiling"
CEILING_PATH = "/ceiling/"
#: No middleware at all: the thread hops every request pays (the ASGI handler's).
BARE_PATH = "/bare/"
#: The default settings: this library's SessionMiddleware + AuthenticationMiddleware.
OURS = "async_auth_views"
OURS_DJANGO_SESSIONS = "async_auth_views behind Django's SessionMiddleware"
PLAIN_OURS = "page needing no user, our stack"
PLAIN_DJANGO = "page needing no user, Django's stack"
OURS_LOCMEM = "async_auth_views + identity cache (LocMemCache)"
OURS_REDIS = "async_auth_views + identity cache (Redis, 2 processes)"
ALTERNATIVES = (
    "Django sync mixins",
    "Django async decorators",
    "django-async-extensions",
)
#: Variants whose page answers anonymous visitors too (200, not the login redirect).
PUBLIC = (BARE_PATH, CEILING_PATH, "/plain-ours/", "/plain-django/")


def _database_variants(setup: str, traffic: tuple[str, ...]) -> list[Variant]:
    """The ceiling, ours and the alternatives, with ``traffic``, on ``setup``;
    the page needing no user behind each stack, logged in."""
    return [
        Variant(CEILING, CEILING_PATH, setup, traffic),
        Variant(OURS, "/ours-sessions/", setup, traffic),
        Variant(OURS_DJANGO_SESSIONS, "/ours/", setup, traffic),
        Variant(ALTERNATIVES[0], "/django-sync-mixins/", setup, traffic),
        Variant(ALTERNATIVES[1], "/django-async-decorators/", setup, traffic),
        Variant(ALTERNATIVES[2], "/async-extensions/", setup, traffic),
        Variant(PLAIN_OURS, "/plain-ours/", setup),
        Variant(PLAIN_DJANGO, "/plain-django/", setup),
    ]


VARIANTS = (
    # Anonymous requests touch no database: measured on SQLite only.
    *_database_variants("sqlite", TRAFFIC),
    *_database_variants("postgresql", (AUTHENTICATED,)),
    *_database_variants("postgresql-pool", (AUTHENTICATED,)),
    *_database_variants("postgresql-native", (AUTHENTICATED,)),
    Variant(CEILING, CEILING_PATH, "sqlite-locmem"),
    Variant(OURS_LOCMEM, "/ours-sessions/", "sqlite-locmem"),
    Variant(CEILING, CEILING_PATH, "postgresql-redis"),
    Variant(OURS_REDIS, "/ours-sessions/", "postgresql-redis"),
)

# {(variant, traffic, connections): [(measurement, ratio to ceiling), ...]}
Results = dict[tuple[Variant, str, int], list[tuple[Measurement, float]]]
# {setup: {path: {traffic: {"sql", "connections", "hops", "hop_names"}}}}
Counts = dict[str, dict[str, dict[str, dict[str, Any]]]]
#: Each setup's uvicorn processes.
Servers = dict[str, list["Server"]]
#: The benchmark user's session cookie value, by database kind ("sqlite", "postgresql").
Sessions = dict[str, str]


def kind(setup: Setup) -> str:
    """Which database (and so which session cookie) a setup uses."""
    return "sqlite" if setup.database == SQLITE else "postgresql"


def cookie(traffic: str, sessions: Sessions, setup: str) -> str | None:
    if traffic != AUTHENTICATED:
        return None
    return f"sessionid={sessions[kind(SETUPS[setup])]}"


def count(python: str, envs: dict[str, dict[str, str]], sessions: Sessions) -> Counts:
    """Per-request counts by setup, then path, then traffic (see counts.py)."""
    result: Counts = {}
    for name, setup in SETUPS.items():
        paths = [
            BARE_PATH,
            CEILING_PATH,
            *(v.path for v in VARIANTS if v.setup == name),
        ]
        out = subprocess.run(
            [python, "counts.py", sessions[kind(setup)], *dict.fromkeys(paths)],
            cwd=BENCH, env=envs[name],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if out.returncode:
            raise SystemExit(f"counts.py failed on {name}:\n{out.stderr}")
        result[name] = json.loads(out.stdout)
    return result


def check_statuses(servers: Servers, sessions: Sessions) -> None:
    """Every URL answers as expected, on every process (which warms each)."""
    for v in VARIANTS:
        for traffic in TRAFFIC:
            protected = v.path not in PUBLIC
            want = 302 if traffic == ANONYMOUS and protected else 200
            for server in servers[v.setup]:
                got = status(server.port, v.path, cookie(traffic, sessions, v.setup))
                if got != want:
                    raise SystemExit(
                        f"{v.name} on {v.setup} ({traffic}): status {got}, "
                        f"expected {want}"
                    )


@contextmanager
def started_servers(python: str, envs: dict[str, dict[str, str]]) -> Iterator[Servers]:
    """Every setup's uvicorn processes, stopped on exit."""
    with ExitStack() as stack:
        yield {
            name: [
                stack.enter_context(serve(python, envs[name], f"{name}-{i}", {}))
                for i in range(setup.processes)
            ]
            for name, setup in SETUPS.items()
        }


def prepare(python: str, env: dict[str, str]) -> str:
    """Migrate the database ``env`` names, add the user; the session key."""
    done = subprocess.run(
        [python, "-m", "project.setup_db"],
        cwd=BENCH, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"project.setup_db failed:\n{done.stderr}")
    return done.stdout.strip()
