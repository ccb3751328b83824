#!/usr/bin/env python3
"""Benchmark the ways to protect a Django view, against the same view unprotected.

    python3 bench/run.py [--rounds 3] [--duration 5] [--quick]

Creates ``.venv-bench`` (Python 3.12 when available) on first use and re-runs
itself inside it; installs ``wrk`` with apt when missing and running as root.
Writes ``docs/benchmarks.rst``, ``docs/benchmarks-table.md`` and
``docs/_static/benchmarks.png``, and prints the table and the issue's targets.

One uvicorn server serves the ceiling and every variant with default settings,
on one middleware stack (``project.middleware`` picks each variant's own
authentication middleware by path; the ceiling has none). The identity cache
is a process-wide setting, so a second server with the same settings plus the
cache serves that variant and its own ceiling. Every variant's throughput is
divided by the ceiling of its server in the same round.
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
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from load import Measurement, Server, status, wrk
from report import Row, Target, chart, markdown, rst

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
)
TRAFFIC = ("authenticated", "anonymous")
CONCURRENCY = (1, 64)

# {(variant name, traffic, connections): [(measurement, ratio to ceiling), ...]}
Results = dict[tuple[str, str, int], list[tuple[Measurement, float]]]
# {server: {path: {traffic: {"sql", "connections", "hops", "hop_names"}}}}
Counts = dict[str, dict[str, dict[str, dict[str, Any]]]]

#: The servers, by name, and the environment that sets their settings apart.
SERVERS = {"default": {}, "identity-cache": {"BENCH_IDENTITY_CACHE": "1"}}


@dataclass(frozen=True)
class Variant:
    name: str
    path: str
    server: str  # a key of SERVERS


CEILING = "/ceiling/"
OURS = "async_auth_views"
OURS_SESSIONS = "async_auth_views + its SessionMiddleware"
PLAIN_OURS = "page needing no user, our stack"
PLAIN_DJANGO = "page needing no user, Django's stack"
#: Variants whose page answers anonymous visitors too (200, not the login redirect).
PUBLIC = ("/ceiling/", "/plain-ours/", "/plain-django/")
OURS_CACHED = "async_auth_views + identity cache (LocMemCache)"
ALTERNATIVES = (
    "Django sync mixins",
    "Django async decorators",
    "django-async-extensions",
)
VARIANTS = (
    Variant("ceiling", CEILING, "default"),
    Variant(OURS, "/ours/", "default"),
    Variant(OURS_SESSIONS, "/ours-sessions/", "default"),
    Variant(ALTERNATIVES[0], "/django-sync-mixins/", "default"),
    Variant(ALTERNATIVES[1], "/django-async-decorators/", "default"),
    Variant(ALTERNATIVES[2], "/async-extensions/", "default"),
    Variant(PLAIN_OURS, "/plain-ours/", "default"),
    Variant(PLAIN_DJANGO, "/plain-django/", "default"),
    Variant("ceiling (identity-cache server)", CEILING, "identity-cache"),
    Variant(OURS_CACHED, "/ours/", "identity-cache"),
)


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


def _counts(python: str, env: dict[str, str], cookie: str) -> Counts:
    """Per-request counts by server, then path, then traffic (see counts.py)."""
    result: Counts = {}
    for server, settings in SERVERS.items():
        paths = [CEILING, *(v.path for v in VARIANTS if v.server == server)]
        out = subprocess.run(
            [python, "counts.py", cookie, *dict.fromkeys(paths)],
            cwd=BENCH, env={**env, **settings},
            capture_output=True, text=True, timeout=300, check=True,
        ).stdout  # fmt: skip
        result[server] = json.loads(out)
    return result


def _cookie(traffic: str, session_key: str) -> str | None:
    return f"sessionid={session_key}" if traffic == "authenticated" else None


def _check_statuses(servers: dict[str, Server], session_key: str) -> None:
    for v in VARIANTS:
        for traffic in TRAFFIC:
            cookie = _cookie(traffic, session_key)
            got = status(servers[v.server].port, v.path, cookie)
            protected = v.path not in PUBLIC
            want = 302 if traffic == "anonymous" and protected else 200
            if got != want:
                raise SystemExit(f"{v.name} ({traffic}): status {got}, expected {want}")


def _round(
    rnd: int, args: argparse.Namespace, servers: dict[str, Server], session_key: str
) -> Results:
    """Every variant once per traffic and concurrency, ratios to this round's ceilings."""
    # Rotate the order each round so that no variant always runs first.
    shift = rnd % len(VARIANTS)
    order = VARIANTS[shift:] + VARIANTS[:shift]
    results: Results = {}
    for conns in CONCURRENCY:
        for traffic in TRAFFIC:
            cookie = _cookie(traffic, session_key)
            got = {}
            for v in order:
                # Let the previous run's in-flight requests drain: the servers
                # share the CPUs, so a backlog on one slows the other.
                time.sleep(args.pause)
                got[v] = wrk(servers[v.server], v.path, cookie, conns, args.duration)
            ceiling = {v.server: got[v].rps for v in order if v.path == CEILING}
            for v, m in got.items():
                ratio = m.rps / ceiling[v.server] if ceiling[v.server] else 0.0
                results[(v.name, traffic, conns)] = [(m, ratio)]
            summary = ", ".join(f"{v.name} {got[v].rps:,.0f}" for v in VARIANTS)
            print(f"  round {rnd + 1}, {traffic}, c={conns}: {summary}", flush=True)
    return results


def _measure(
    args: argparse.Namespace, python: str, env: dict[str, str], session_key: str
) -> Results:
    """Start the servers, check every URL answers as expected, warm up, run the rounds."""
    results: Results = {}
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(Server(python, env, name, settings))
            for name, settings in SERVERS.items()
        }
        _check_statuses(servers, session_key)
        print(f"Warming up ({args.warmup} s per URL) ...", flush=True)
        for v in VARIANTS:
            for traffic in TRAFFIC:
                wrk(
                    servers[v.server],
                    v.path,
                    _cookie(traffic, session_key),
                    64,
                    args.warmup,
                )
        for rnd in range(args.rounds):
            for key, runs in _round(rnd, args, servers, session_key).items():
                results.setdefault(key, []).extend(runs)
    return results


def _rows(results: Results, counts: Counts) -> list[Row]:
    rows = []
    for traffic in TRAFFIC:
        for conns in CONCURRENCY:
            for v in VARIANTS:
                runs = results[(v.name, traffic, conns)]
                mine = counts[v.server][v.path][traffic]
                base = counts[v.server][CEILING][traffic]
                extra = Counter(mine["hop_names"]) - Counter(base["hop_names"])
                rows.append(
                    Row(
                        variant=v.name,
                        traffic=traffic,
                        conns=conns,
                        rps=statistics.median(m.rps for m, _ in runs),
                        ratio=statistics.median(r for _, r in runs),
                        p50_ms=statistics.median(m.p50_ms for m, _ in runs),
                        p99_ms=statistics.median(m.p99_ms for m, _ in runs),
                        cpu_ms=statistics.median(m.cpu_ms for m, _ in runs),
                        errors=sum(m.errors for m, _ in runs),
                        sql=mine["sql"] - base["sql"],
                        new_connections=mine["connections"] - base["connections"],
                        hops=mine["hops"] - base["hops"],
                        extra_hops=", ".join(
                            f"{name} (x{n})" if n > 1 else name
                            for name, n in sorted(extra.items())
                        ),
                    )
                )
    return rows


def _row(rows: list[Row], variant: str, traffic: str, conns: int = 64) -> Row:
    return next(
        r for r in rows if (r.variant, r.traffic, r.conns) == (variant, traffic, conns)
    )


def _targets(results: Results, rows: list[Row]) -> list[Target]:
    """The issue's targets, as measured in this run.

    Ours is compared with the alternative of the highest median throughput in
    each round (the two ran on the same server, seconds apart), and the median
    of the per-round ratios is reported.
    """
    best = max(ALTERNATIVES, key=lambda a: _row(rows, a, "authenticated").rps)
    ours, other = (results[(v, "authenticated", 64)] for v in (OURS, best))
    pairs = list(zip(ours, other, strict=True))
    rps = statistics.median(o.rps / b.rps if b.rps else 0.0 for (o, _), (b, _) in pairs)
    p99 = statistics.median(o.p99_ms / b.p99_ms for (o, _), (b, _) in pairs)
    cpu = statistics.median(o.cpu_ms / b.cpu_ms for (o, _), (b, _) in pairs)
    auth = _row(rows, OURS, "authenticated")
    anon = _row(rows, OURS, "anonymous")
    cached = _row(rows, OURS_CACHED, "authenticated")
    both = _row(rows, OURS_SESSIONS, "authenticated")
    both_anon = _row(rows, OURS_SESSIONS, "anonymous")
    fewest = min(_row(rows, a, "authenticated").hops for a in ALTERNATIVES)
    plain = statistics.median(
        o.rps / d.rps if d.rps else 0.0
        for (o, _), (d, _) in zip(
            results[(PLAIN_OURS, "authenticated", 64)],
            results[(PLAIN_DJANGO, "authenticated", 64)],
            strict=True,
        )
    )
    issue_11 = [
        Target(
            "Both our middlewares, login + two permissions: whole-request hops "
            "- the alternative with the fewest",
            f"{both.hops - fewest:+d}", "≤ -2", both.hops - fewest <= -2,
        ),
        Target(
            "Both our middlewares, no session cookie: hops - the ceiling's "
            "(which pays Django's SessionMiddleware, 2)",
            f"{both_anon.hops:+d}", "-2 (none of ours)", both_anon.hops == -2,
        ),
        Target(
            "Page needing no user, logged in, c=64: our stack's req/s ÷ Django's",
            f"{plain:.2f}", "report", True,
        ),
    ]  # fmt: skip
    return [
        *issue_11,
        Target(
            f"Default settings, authenticated, c=64: req/s ÷ best alternative ({best})",
            f"{rps:.2f}", "≥ 1.5", rps >= 1.5,
        ),
        Target(
            "Default settings, authenticated, c=64: p99 ÷ best alternative's p99",
            f"{p99:.2f}", "≤ 0.6", p99 <= 0.6,
        ),
        Target(
            "Cross-check of the first: server CPU per request ÷ best "
            "alternative's (1 ÷ 1.5 = 0.67)",
            f"{cpu:.2f}", "≤ 0.67", cpu <= 1 / 1.5,
        ),
        Target(
            "Identity cache (LocMemCache), authenticated, c=64: req/s ÷ ceiling",
            f"{cached.ratio:.2f}", "≥ 0.8", cached.ratio >= 0.8,
        ),
        Target(
            "Default settings, authenticated (login + two permissions): "
            "added per request",
            f"{auth.hops:+d} hops, {auth.sql:+d} SQL", "≤ 1 hop", auth.hops <= 1,
        ),
        Target(
            "Default settings, anonymous (no session cookie): added per request",
            f"{anon.hops:+d} hops, {anon.sql:+d} SQL", "0 hops, 0 SQL",
            anon.hops == 0 and anon.sql == 0,
        ),
        Target(
            "Identity cache, warm (entry filled by an earlier request): "
            "added per request",
            f"{cached.hops:+d} hops, {cached.sql:+d} SQL", "0 hops, 0 SQL",
            cached.hops == 0 and cached.sql == 0,
        ),
    ]  # fmt: skip


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    wrk_banner = subprocess.run(
        ["wrk", "--version"], capture_output=True, text=True, timeout=10
    ).stdout
    return {
        "Python": platform.python_version(),
        "Django": version("django"),
        "asgiref": version("asgiref"),
        "uvicorn": version("uvicorn"),
        "django-async-extensions": version("django-async-extensions"),
        "async_auth_views": version("async-auth-views"),
        "wrk": wrk_banner.split()[1] if wrk_banner else "unknown",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds per URL")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 round of 1 s"
    )
    parser.add_argument(
        "--pause", type=float, default=2.0, help="idle seconds before each run"
    )
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    args = parser.parse_args()
    if min(args.rounds, args.duration, args.warmup) < 1:
        parser.error("--rounds, --duration and --warmup must be at least 1")
    if args.quick:
        args.rounds, args.duration, args.warmup, args.pause = 1, 1, 1, 0.5
    if Path(sys.prefix).resolve() != VENV.resolve():
        _bootstrap()
    _ensure_wrk()
    python = sys.executable
    load_before = _loadavg()
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="async-auth-views-bench-") as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(BENCH),
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "BENCH_DB": str(Path(tmp) / "bench.sqlite3"),
            "BENCH_TMP": tmp,
        }
        cookie = subprocess.run(
            [python, "-m", "project.setup_db"],
            cwd=BENCH, env=env, capture_output=True, text=True, timeout=300, check=True,
        ).stdout.strip()  # fmt: skip
        print("Counting SQL, connections and hops per request ...", flush=True)
        counts = _counts(python, env, cookie)
        results = _measure(args, python, env, cookie)
    rows = _rows(results, counts)
    targets = _targets(results, rows)
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    meta = {
        "Date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "Machine": f"{_cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        **_versions(),
        "Load average": f"{load_before} before, {_loadavg()} after ({seconds:.0f} s run)",
        "Run": f"{args.rounds} rounds of {args.duration:g} s per measurement, "
        f"{args.warmup} s warm-up per URL, {args.pause:g} s pause before each run, "
        "wrk with 1 thread, "
        f"{' and '.join(map(str, CONCURRENCY))} connections",
    }
    method = (BENCH / "METHOD.rst").read_text().strip()
    (ROOT / "docs" / "benchmarks.rst").write_text(rst(rows, targets, meta, method))
    table = markdown(rows, targets, meta)
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
