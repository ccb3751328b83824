"""The report's rows and the issues' targets, computed from the measurements."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from matrix import (
    ALTERNATIVES,
    ANONYMOUS,
    AUTHENTICATED,
    BARE_PATH,
    CEILING,
    OURS,
    OURS_LOCMEM,
    OURS_REDIS,
    PLAIN_DJANGO,
    PLAIN_OURS,
    POSTGRESQL,
    POSTGRESQL_NATIVE,
    POSTGRESQL_POOL,
    SETUPS,
    SQLITE,
    TRAFFIC,
    VARIANTS,
    Counts,
    Results,
    Variant,
)
from report import Cell, Row, Target


def _hops(
    counts: Counts, v: Variant, traffic: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """This variant's counts and those of a request through no middleware at all."""
    return counts[v.setup][v.path][traffic], counts[v.setup][BARE_PATH][traffic]


def rows_of(concurrency: list[int], results: Results, counts: Counts) -> list[Row]:
    rows = []
    for traffic in TRAFFIC:
        for conns in concurrency:
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
    POSTGRESQL_NATIVE: "postgresql-native",
}


def targets_of(results: Results, counts: Counts, conns: int) -> list[Target]:
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
    tails: list[Cell] = []
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
        if setup != "postgresql-native":  # the threaded modes
            tail = statistics.median(
                m.p99_ms / m.p50_ms for m, _ in results[(ours, AUTHENTICATED, conns)]
            )
            tails.append(Cell(database, f"{tail:.2f}", tail <= 1.8))
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
        *_native_targets(results, counts, conns),
        Target(
            f"Threaded modes, authenticated, c={conns}: p99 ÷ p50 of our protected view",
            "≤ 1.8", tails, 18,
        ),
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


def _native_targets(results: Results, counts: Counts, conns: int) -> list[Target]:
    """Issue 18's targets: native mode against the alternatives on the same
    server (django-async-backend's engine, its pool), in the same rounds."""
    setup = "postgresql-native"
    database = SETUPS[setup].database
    ours = _variant(OURS, setup)
    best = max(
        (_variant(a, setup) for a in ALTERNATIVES),
        key=lambda a: statistics.median(
            m.rps for m, _ in results[(a, AUTHENTICATED, conns)]
        ),
    )
    rps = _paired(results, ours, best, conns, "rps")
    p99 = _paired(results, ours, best, conns, "p99_ms")
    ceiling = statistics.median(r for _, r in results[(ours, AUTHENTICATED, conns)])
    pairs = zip(
        results[(ours, AUTHENTICATED, conns)],
        results[(_variant(CEILING, setup), AUTHENTICATED, conns)],
        strict=True,
    )
    cpu_above = statistics.median(m.cpu_ms - c.cpu_ms for (m, _), (c, _) in pairs)
    mine, bare = _hops(counts, ours, AUTHENTICATED)
    hops, sql = mine["hops"] - bare["hops"], mine["sql"] - bare["sql"]
    return [
        Target(
            f"Native mode, authenticated, login + two permissions, c={conns}: "
            "req/s ÷ the best alternative's on the same server",
            "≥ 3.0", [Cell(database, f"{rps:.2f} ({best.name})", rps >= 3.0)], 18,
        ),
        Target(
            f"Native mode, same: req/s ÷ the no-auth ceiling, c={conns}",
            "≥ 0.6", [Cell(database, f"{ceiling:.2f}", ceiling >= 0.6)], 18,
        ),
        Target(
            f"Native mode, same: p99 ÷ the best alternative's, c={conns}",
            "≤ 0.4", [Cell(database, f"{p99:.2f}", p99 <= 0.4)], 18,
        ),
        Target(
            "Native mode: thread hops and SQL added by the auth path",
            "0 hops",
            [Cell(database, f"{hops:+d} hops, {sql:+d} SQL", hops == 0)],
            18,
        ),
        Target(
            "Native mode: server CPU per request above the ceiling's",
            "≤ 1.0 ms",
            [Cell(database, f"{cpu_above:.2f} ms", cpu_above <= 1.0)],
            18,
        ),
    ]  # fmt: skip
