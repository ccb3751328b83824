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

This file runs the rounds; beside it, one job each: ``bootstrap.py`` (the
virtualenv and ``wrk``), ``matrix.py`` (the servers and pages measured),
``load.py`` (uvicorn and ``wrk``), ``counts.py`` (SQL and hops per request),
``targets.py`` (the rows and the issues' targets), ``machine.py`` (what ran
where) and ``report.py`` (the table, the page and the chart).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

from bootstrap import ensure_wrk, in_venv, reenter
from load import wrk
from machine import cpu_model, loadavg, versions
from matrix import (
    CEILING,
    SETUPS,
    TRAFFIC,
    VARIANTS,
    Results,
    Servers,
    Sessions,
    check_statuses,
    cookie,
    count,
    prepare,
    started_servers,
)
from report import chart, markdown, rst
from targets import rows_of, targets_of

DESCRIPTION = "Benchmark the ways to protect a Django view."
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


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
                header = cookie(traffic, sessions, v.setup)
                got[v] = wrk(servers[v.setup], v.path, header, conns, args.duration)
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


def _measure(
    args: argparse.Namespace,
    python: str,
    envs: dict[str, dict[str, str]],
    sessions: Sessions,
) -> Results:
    """Start the servers, check every URL answers as expected, warm up, run the rounds."""
    results: Results = {}
    with started_servers(python, envs) as servers:
        check_statuses(servers, sessions)
        if args.warmup:
            print(f"Warming up ({args.warmup} s per URL) ...", flush=True)
            for v in VARIANTS:
                for traffic in v.traffic:
                    header = cookie(traffic, sessions, v.setup)
                    wrk(servers[v.setup], v.path, header, 64, args.warmup)
        for rnd in range(args.rounds):
            for key, runs in _round(rnd, args, servers, sessions).items():
                results.setdefault(key, []).extend(runs)
    return results


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


def main() -> None:
    args = _arguments()
    if not in_venv():
        reenter(__file__)
    ensure_wrk()
    sys.path.insert(0, str(ROOT))  # devtools.servers, devtools.databases
    from devtools.databases import create_database
    from devtools.servers import postgresql, redis

    python = sys.executable
    load_before = loadavg()
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
            "sqlite": prepare(python, envs["sqlite"]),
            "postgresql": prepare(python, envs["postgresql"]),
        }
        print("Counting SQL, connections and hops per request ...", flush=True)
        counts = count(python, envs, sessions)
        results = _measure(args, python, envs, sessions)
        postgresql_name = pg.name
    rows = rows_of(args.concurrency, results, counts)
    conns = 64 if 64 in args.concurrency else max(args.concurrency)
    targets = targets_of(results, counts, conns)
    seconds = time.monotonic() - started
    runs = sum(len(v.traffic) for v in VARIANTS) * len(args.concurrency)
    meta = {
        "Date": date.strftime("%Y-%m-%d %H:%M UTC"),
        "Machine": f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        **versions(postgresql_name.removeprefix("PostgreSQL ")),
        "Load average": f"{load_before} before, {loadavg()} after ({seconds:.0f} s run)",
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
