#!/usr/bin/env python3
"""Benchmark the ways to protect a Django view, against the same view unprotected,
on SQLite and on PostgreSQL.

    python3 bench/run.py [--rounds 3] [--duration 5] [--concurrency 64] [--quick]

Creates ``.venv-bench`` (Python 3.12 when available) on first use and re-runs
itself inside it; installs ``wrk`` with apt when missing and running as root.
Starts its own PostgreSQL and redis-server on 127.0.0.1 (``devtools/servers.py``),
then one uvicorn server per setting that is process-wide (``SETUPS``): the
database (SQLite, PostgreSQL, PostgreSQL with Django's connection pool) and the
identity cache (in memory, or in Redis shared by two uvicorn processes). Each
server serves the ceiling and its variants, on one middleware stack
(``project.middleware`` routes each variant through its own middleware).
Every variant's throughput is divided by the ceiling of its server in the same
round. Writes ``docs/benchmarks.rst``, ``docs/benchmarks-table.md`` and
``docs/_static/benchmarks.png`` (not with ``--quick``), and prints the table
and the issues' targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from load import Measurement, serve, status, wrk
from report import Cell, Row, Target, chart, markdown, rst

if TYPE_CHECKING:
    from devtools.servers import Server

DESCRIPTION = "Benchmark the ways to protect a Django view."
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".venv-bench"
REQUIREMENTS = (
    "-e",
    f"{ROOT}[channels]",
    "uvicorn",
    "django-async-extensions",
    "matplotlib",
    # PostgreSQL through psycopg 3, with Django's connection pool (Django 5.1+):
    "psycopg[binary,pool]>=3.1",
    # The identity cache on Django's RedisCache, read with redis.asyncio:
    "redis>=4.5",
    # devtools.servers, which starts the servers:
    "mirakuru>=3.0",
    "port-for>=0.7",
)
AUTHENTICATED, ANONYMOUS = "authenticated", "anonymous"
TRAFFIC = (AUTHENTICATED, ANONYMOUS)

SQLITE, POSTGRESQL, POSTGRESQL_POOL = "SQLite", "PostgreSQL", "PostgreSQL + pool"
#: The databases, side by side in the report, in this order.
DATABASES = (SQLITE, POSTGRESQL, POSTGRESQL_POOL)


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
            env["BENCH_DATABASE_URL"] = postgresql_url
            env["BENCH_DB_POOL"] = "1" if self.database == POSTGRESQL_POOL else ""
        return env


SETUPS = {
    setup.name: setup
    for setup in (
        Setup("sqlite", SQLITE),
        Setup("sqlite-locmem", SQLITE, identity_cache="locmem"),
        Setup("postgresql", POSTGRESQL),
        Setup("postgresql-pool", POSTGRESQL_POOL),
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


def _python() -> str:
    found = shutil.which("python3.12")
    if found and subprocess.run([found, "-c", ""], cwd=ROOT).returncode == 0:
        return found
    return sys.executable


def _bootstrap() -> None:
    """Create the virtualenv if needed and re-exec this script inside it."""
    sys.path.insert(0, str(ROOT))
    from run import _venv  # the project's one virtualenv helper

    python = _venv(VENV.name, *REQUIREMENTS, interpreter=_python())
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def _ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it (apt-get install wrk) and rerun.")
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, timeout=600)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _kind(setup: Setup) -> str:
    """Which database (and so which session cookie) a setup uses."""
    return "sqlite" if setup.database == SQLITE else "postgresql"


def _cookie(traffic: str, sessions: Sessions, setup: str) -> str | None:
    if traffic != AUTHENTICATED:
        return None
    return f"sessionid={sessions[_kind(SETUPS[setup])]}"


def _counts(python: str, envs: dict[str, dict[str, str]], sessions: Sessions) -> Counts:
    """Per-request counts by setup, then path, then traffic (see counts.py)."""
    result: Counts = {}
    for name, setup in SETUPS.items():
        paths = [
            BARE_PATH,
            CEILING_PATH,
            *(v.path for v in VARIANTS if v.setup == name),
        ]
        out = subprocess.run(
            [python, "counts.py", sessions[_kind(setup)], *dict.fromkeys(paths)],
            cwd=BENCH, env=envs[name],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if out.returncode:
            raise SystemExit(f"counts.py failed on {name}:\n{out.stderr}")
        result[name] = json.loads(out.stdout)
    return result


def _check_statuses(servers: Servers, sessions: Sessions) -> None:
    """Every URL answers as expected, on every process (which warms each)."""
    for v in VARIANTS:
        for traffic in TRAFFIC:
            protected = v.path not in PUBLIC
            want = 302 if traffic == ANONYMOUS and protected else 200
            for server in servers[v.setup]:
                got = status(server.port, v.path, _cookie(traffic, sessions, v.setup))
                if got != want:
                    raise SystemExit(
                        f"{v.name} on {v.setup} ({traffic}): status {got}, "
                        f"expected {want}"
                    )


def _round(
    rnd: int,
    args: argparse.Namespace,
    servers: Servers,
    sessions: Sessions,
) -> Results:
    """Every variant once per traffic and concurrency, ratios to this round's ceilings."""
    results: Results = {}
    for conns in args.concurrency:
        for traffic in TRAFFIC:
            runs = [v for v in VARIANTS if traffic in v.traffic]
            # Rotate the order each round so that no variant always runs first.
            shift = rnd % len(runs)
            got = {}
            for v in runs[shift:] + runs[:shift]:
                # Let the previous run's in-flight requests drain: the servers
                # share the CPUs, so a backlog on one slows the next.
                time.sleep(args.pause)
                cookie = _cookie(traffic, sessions, v.setup)
                got[v] = wrk(servers[v.setup], v.path, cookie, conns, args.duration)
            ceiling = {v.setup: m.rps for v, m in got.items() if v.name == CEILING}
            for v, m in got.items():
                ratio = m.rps / ceiling[v.setup] if ceiling[v.setup] else 0.0
                results[(v, traffic, conns)] = [(m, ratio)]
            print(
                f"  round {rnd + 1}, {traffic}, c={conns}: "
                + ", ".join(f"{v.setup}:{v.path} {got[v].rps:,.0f}" for v in runs),
                flush=True,
            )
    return results


@contextmanager
def _servers(python: str, envs: dict[str, dict[str, str]]) -> Iterator[Servers]:
    """Every setup's uvicorn processes, stopped on exit."""
    with ExitStack() as stack:
        yield {
            name: [
                stack.enter_context(serve(python, envs[name], f"{name}-{i}", {}))
                for i in range(setup.processes)
            ]
            for name, setup in SETUPS.items()
        }


def _measure(
    args: argparse.Namespace,
    python: str,
    envs: dict[str, dict[str, str]],
    sessions: Sessions,
) -> Results:
    """Start the servers, check every URL answers as expected, warm up, run the rounds."""
    results: Results = {}
    with _servers(python, envs) as servers:
        _check_statuses(servers, sessions)
        if args.warmup:
            print(f"Warming up ({args.warmup} s per URL) ...", flush=True)
            for v in VARIANTS:
                for traffic in v.traffic:
                    cookie = _cookie(traffic, sessions, v.setup)
                    wrk(servers[v.setup], v.path, cookie, 64, args.warmup)
        for rnd in range(args.rounds):
            for key, runs in _round(rnd, args, servers, sessions).items():
                results.setdefault(key, []).extend(runs)
    return results


def _hops(
    counts: Counts, v: Variant, traffic: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """This variant's counts and those of a request through no middleware at all."""
    return counts[v.setup][v.path][traffic], counts[v.setup][BARE_PATH][traffic]


def _rows(args: argparse.Namespace, results: Results, counts: Counts) -> list[Row]:
    rows = []
    for traffic in TRAFFIC:
        for conns in args.concurrency:
            for v in VARIANTS:
                if traffic not in v.traffic:
                    continue
                runs = results[(v, traffic, conns)]
                mine, bare = _hops(counts, v, traffic)
                extra = Counter(mine["hop_names"]) - Counter(bare["hop_names"])
                rows.append(
                    Row(
                        variant=v.name,
                        database=SETUPS[v.setup].database,
                        setup=v.setup,
                        traffic=traffic,
                        conns=conns,
                        rps=statistics.median(m.rps for m, _ in runs),
                        ratio=statistics.median(r for _, r in runs),
                        p50_ms=statistics.median(m.p50_ms for m, _ in runs),
                        p99_ms=statistics.median(m.p99_ms for m, _ in runs),
                        cpu_ms=statistics.median(m.cpu_ms for m, _ in runs),
                        errors=sum(m.errors for m, _ in runs),
                        sql=mine["sql"] - bare["sql"],
                        new_connections=mine["connections"] - bare["connections"],
                        hops=mine["hops"] - bare["hops"],
                        extra_hops=", ".join(
                            f"{name} (x{n})" if n > 1 else name
                            for name, n in sorted(extra.items())
                        ),
                    )
                )
    return rows


def _variant(name: str, setup: str) -> Variant:
    return next(v for v in VARIANTS if (v.name, v.setup) == (name, setup))


def _paired(results: Results, a: Variant, b: Variant, conns: int, field: str) -> float:
    """The median over rounds of a's ``field`` ÷ b's, each pair from one round."""
    pairs = zip(
        results[(a, AUTHENTICATED, conns)],
        results[(b, AUTHENTICATED, conns)],
        strict=True,
    )
    return statistics.median(
        getattr(x, field) / getattr(y, field) if getattr(y, field) else 0.0
        for (x, _), (y, _) in pairs
    )


#: The setup that serves each database's default settings.
DEFAULT_SETUP = {
    SQLITE: "sqlite",
    POSTGRESQL: "postgresql",
    POSTGRESQL_POOL: "postgresql-pool",
}


def _targets(results: Results, counts: Counts, conns: int) -> list[Target]:
    """The issues' targets, as measured in this run, one cell per database.

    Ours is compared with the alternative of the highest median throughput on
    the same database (the two ran on the same server, seconds apart, in each
    round), and the median of the per-round ratios is reported. Hops and SQL
    are whole-request counts less those of a request through no middleware
    (the ASGI handler's own ``request_finished`` and ``close()``).
    """
    speed: dict[str, list[Cell]] = {"rps": [], "p99": [], "cpu": [], "plain": []}
    hops: list[Cell] = []
    anonymous: list[Cell] = []
    added: list[Cell] = []
    for database, setup in DEFAULT_SETUP.items():
        ours = _variant(OURS, setup)
        alternatives = [_variant(a, setup) for a in ALTERNATIVES]
        best = max(
            alternatives,
            key=lambda a: statistics.median(
                m.rps for m, _ in results[(a, AUTHENTICATED, conns)]
            ),
        )
        rps = _paired(results, ours, best, conns, "rps")
        p99 = _paired(results, ours, best, conns, "p99_ms")
        cpu = _paired(results, ours, best, conns, "cpu_ms")
        plain = _paired(
            results,
            _variant(PLAIN_OURS, setup),
            _variant(PLAIN_DJANGO, setup),
            conns,
            "rps",
        )
        speed["rps"].append(Cell(database, f"{rps:.2f} ({best.name})", rps >= 2.0))
        speed["p99"].append(Cell(database, f"{p99:.2f}", p99 <= 0.6))
        speed["cpu"].append(Cell(database, f"{cpu:.2f}", cpu <= 0.5))
        speed["plain"].append(Cell(database, f"{plain:.2f}", None))
        mine, bare = _hops(counts, ours, AUTHENTICATED)
        fewest = min(
            alternatives, key=lambda a: _hops(counts, a, AUTHENTICATED)[0]["hops"]
        )
        theirs = _hops(counts, fewest, AUTHENTICATED)[0]["hops"]
        hops.append(
            Cell(
                database,
                f"{mine['hops']} vs {theirs} ({fewest.name}): {mine['hops'] - theirs:+d}",
                mine["hops"] - theirs <= -2,
            )
        )
        added.append(
            Cell(
                database,
                f"{mine['hops'] - bare['hops']:+d} hops, {mine['sql'] - bare['sql']:+d} SQL",
                mine["hops"] - bare["hops"] <= 1,
            )
        )
        if ANONYMOUS in ours.traffic:
            mine, bare = _hops(counts, ours, ANONYMOUS)
            extra_hops, extra_sql = (
                mine["hops"] - bare["hops"],
                mine["sql"] - bare["sql"],
            )
            anonymous.append(
                Cell(
                    database,
                    f"{extra_hops:+d} hops, {extra_sql:+d} SQL",
                    extra_hops == 0 and extra_sql == 0,
                )
            )
    redis = _variant(OURS_REDIS, "postgresql-redis")
    redis_ratio = statistics.median(
        r for _, r in results[(redis, AUTHENTICATED, conns)]
    )
    redis_hit, redis_bare = _hops(counts, redis, AUTHENTICATED)
    redis_hops = redis_hit["hops"] - redis_bare["hops"]
    redis_sql = redis_hit["sql"] - redis_bare["sql"]
    locmem = _variant(OURS_LOCMEM, "sqlite-locmem")
    locmem_ratio = statistics.median(
        r for _, r in results[(locmem, AUTHENTICATED, conns)]
    )
    redis_db = SETUPS[redis.setup].database
    return [
        Target(
            f"Default settings, authenticated, login + two permissions, c={conns}: "
            "req/s ÷ the best alternative's",
            "≥ 2.0", speed["rps"], 11,
        ),
        Target(
            f"Default settings, authenticated, c={conns}: p99 ÷ the best alternative's",
            "≤ 0.6", speed["p99"], 11,
        ),
        Target(
            "Cross-check of the first: server CPU per request ÷ the best "
            "alternative's (1 ÷ 2.0)",
            "≤ 0.5", speed["cpu"], 11,
        ),
        Target(
            "Whole-request thread hops, authenticated: ours (our two middlewares) "
            "vs Django's stack with the fewest",
            "≤ -2", hops, 11,
        ),
        Target(
            "No session cookie: hops and SQL added by our two middlewares and mixins",
            "0 hops, 0 SQL", anonymous, 11,
        ),
        Target(
            f"Identity cache on Redis, 2 processes, authenticated, c={conns}: "
            "req/s ÷ the no-auth ceiling",
            "≥ 0.75", [Cell(redis_db, f"{redis_ratio:.2f}", redis_ratio >= 0.75)], 11,
        ),
        Target(
            "Identity cache on Redis, a hit: hops and SQL added",
            "0 hops, 0 SQL",
            [Cell(redis_db, f"{redis_hops:+d} hops, {redis_sql:+d} SQL",
                  redis_hops == 0 and redis_sql == 0)],
            11,
        ),
        Target(
            f"Page needing no user, logged in, c={conns}: our stack's req/s ÷ Django's",
            "report", speed["plain"], 11,
        ),
        Target(
            f"Identity cache (LocMemCache), authenticated, c={conns}: req/s ÷ ceiling",
            "≥ 0.8", [Cell(SQLITE, f"{locmem_ratio:.2f}", locmem_ratio >= 0.8)], 10,
        ),
        Target(
            "Default settings, authenticated: hops and SQL added per request",
            "≤ 1 hop", added, 10,
        ),
    ]  # fmt: skip


def _versions(postgresql: str) -> dict[str, str]:
    from importlib.metadata import version

    def banner(*command: str) -> str:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=10
        ).stdout

    wrk_banner = banner("wrk", "--version")
    redis_banner = banner("redis-server", "--version")
    redis_version = next(
        (w.split("=", 1)[1] for w in redis_banner.split() if w.startswith("v=")),
        "unknown",
    )
    return {
        "Python": platform.python_version(),
        "Django": version("django"),
        "asgiref": version("asgiref"),
        "uvicorn": version("uvicorn"),
        "django-async-extensions": version("django-async-extensions"),
        "async_auth_views": version("async-auth-views"),
        "PostgreSQL": postgresql,
        "psycopg": f"{version('psycopg')}, psycopg-pool {version('psycopg-pool')}",
        "redis-server": redis_version,
        "redis-py": version("redis"),
        "wrk": wrk_banner.split()[1] if wrk_banner else "unknown",
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per run")
    parser.add_argument(
        "--warmup", type=int, default=1, help="seconds per URL (0: none)"
    )
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[64],
        help="wrk connections, one measurement each (default: 64)",
    )  # fmt: skip
    parser.add_argument(
        "--pause", type=float, default=1.0, help="idle seconds before each run"
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: 1 round of 1 s, no warm-up; prints, writes no docs",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    args = parser.parse_args()
    if min(args.rounds, args.duration, *args.concurrency) < 1 or args.warmup < 0:
        parser.error("--rounds, --duration and --concurrency must be at least 1")
    if any(c < SETUPS["postgresql-redis"].processes for c in args.concurrency):
        parser.error("--concurrency must give every process a connection")
    if args.quick:
        args.rounds, args.duration, args.warmup, args.pause = 1, 1, 0, 0.3
    return args


def _prepare(python: str, env: dict[str, str]) -> str:
    """Migrate the database ``env`` names, add the user; the session key."""
    done = subprocess.run(
        [python, "-m", "project.setup_db"],
        cwd=BENCH, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"project.setup_db failed:\n{done.stderr}")
    return done.stdout.strip()


def main() -> None:
    args = _arguments()
    if Path(sys.prefix).resolve() != VENV.resolve():
        _bootstrap()
    _ensure_wrk()
    sys.path.insert(0, str(ROOT))  # devtools.servers, devtools.databases
    from devtools.databases import create_database
    from devtools.servers import postgresql, redis

    python = sys.executable
    load_before = _loadavg()
    started = time.monotonic()
    date = datetime.now(timezone.utc)
    with ExitStack() as stack:
        tmp = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="async-auth-views-bench-")
        )
        print("Starting PostgreSQL and redis-server ...", flush=True)
        pg = stack.enter_context(postgresql(log_path=Path(tmp) / "postgresql.log"))
        cache = stack.enter_context(redis(log_path=Path(tmp) / "redis.log"))
        base = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join((str(BENCH), str(ROOT))),
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "BENCH_DB": str(Path(tmp) / "bench.sqlite3"),
            "BENCH_TMP": tmp,
        }
        url = create_database(pg.url, "bench")
        envs = {name: {**base, **s.env(url, cache.url)} for name, s in SETUPS.items()}
        sessions = {
            "sqlite": _prepare(python, envs["sqlite"]),
            "postgresql": _prepare(python, envs["postgresql"]),
        }
        print("Counting SQL, connections and hops per request ...", flush=True)
        counts = _counts(python, envs, sessions)
        results = _measure(args, python, envs, sessions)
        postgresql_name = pg.name
    rows = _rows(args, results, counts)
    conns = 64 if 64 in args.concurrency else max(args.concurrency)
    targets = _targets(results, counts, conns)
    seconds = time.monotonic() - started
    runs = sum(len(v.traffic) for v in VARIANTS) * len(args.concurrency)
    meta = {
        "Date": date.strftime("%Y-%m-%d %H:%M UTC"),
        "Machine": f"{_cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        **_versions(postgresql_name.removeprefix("PostgreSQL ")),
        "Load average": f"{load_before} before, {_loadavg()} after ({seconds:.0f} s run)",
        "Run": f"{args.rounds} round{'s' if args.rounds > 1 else ''} of {runs} measurements of {args.duration:g} s, "
        f"{args.warmup} s warm-up per URL, {args.pause:g} s pause before each run, "
        "wrk with 1 thread per uvicorn process, "
        f"{' and '.join(map(str, args.concurrency))} connections in all",
    }
    table = markdown(rows, targets, meta)
    if not args.quick:
        method = (BENCH / "METHOD.rst").read_text().strip()
        (ROOT / "docs" / "benchmarks.rst").write_text(rst(rows, targets, meta, method))
        (ROOT / "docs" / "benchmarks-table.md").write_text(table)
        chart(rows, ROOT / "docs" / "_static" / "benchmarks.png", meta)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    print()
    print(table)
    if any(r.errors for r in rows):
        print("\nWARNING: some runs had errors (non-2xx/3xx or socket errors).")


if __name__ == "__main__":
    main()
