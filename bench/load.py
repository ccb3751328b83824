"""The uvicorn servers (started by ``devtools.servers``) and the ``wrk`` runs, on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devtools.servers import Server

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class Measurement:
    """One wrk run: requests per second, latency percentiles in milliseconds,
    and the server's CPU time per request (all its threads), which other work
    on the machine disturbs far less than throughput."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float


def status(port: int, path: str, cookie: str | None) -> int:
    """The status of one GET, redirects not followed."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        return conn.getresponse().status
    finally:
        conn.close()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(
    python: str, env: dict[str, str], name: str, settings: dict[str, str]
) -> Server:
    """One uvicorn worker serving the benchmark project, started (and stopped,
    as a context manager) by the project's one server mechanism."""
    # Imported here: bench/run.py imports this module before it re-runs itself
    # in its virtualenv, where mirakuru is installed.
    sys.path.insert(0, str(BENCH.parent))  # the repository root
    from devtools.servers import uvicorn

    return uvicorn(
        "project.asgi:application",
        cwd=BENCH,
        settings=env["DJANGO_SETTINGS_MODULE"],
        env={**env, **settings},
        ready_path="/ceiling/",
        options=["--workers", "1", "--no-access-log", "--log-level", "warning"],
        log_path=Path(env["BENCH_TMP"]) / f"uvicorn-{name}.log",
        python=python,
    )


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


@dataclass(frozen=True)
class _Run:
    """What one wrk process reported."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _parse(out: str) -> _Run:
    requests = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rps and p50 and p99 and requests):
        raise RuntimeError(f"unparsable wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(bad[1]) if bad else 0
    if sock:
        errors += sum(int(n) for n in sock.groups())
    return _Run(int(requests[1]), float(rps[1]), _ms(p50[1]), _ms(p99[1]), errors)


def _command(
    server: Server, path: str, cookie: str | None, conns: int, seconds: int
) -> list[str]:
    args = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    if cookie:
        args += ["-H", f"Cookie: {cookie}"]
    return [*args, f"{server.url}{path}"]


def wrk(
    servers: Sequence[Server], path: str, cookie: str | None, conns: int, seconds: int
) -> Measurement:
    """Drive ``path`` for ``seconds`` with ``conns`` connections in all.

    One wrk process (one thread) per server, run at the same time, each with
    an equal share of the connections: requests spread over every process of
    a multi-process deployment as a load balancer would spread them. The
    throughput is the sum; the latency percentiles are the highest of the
    processes' (wrk's histograms cannot be merged); the CPU time is that of
    every server, divided by every request.
    """
    shares = [
        conns // len(servers) + (i < conns % len(servers)) for i in range(len(servers))
    ]
    cpu_before = [cpu_seconds(server.pid) for server in servers]
    processes = [
        subprocess.Popen(
            _command(server, path, cookie, share, seconds),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for server, share in zip(servers, shares, strict=True)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=seconds + 30)
        if process.returncode:
            raise RuntimeError(f"wrk failed ({process.returncode}):\n{out}{err}")
        outputs.append(out)
    cpu = sum(cpu_seconds(s.pid) - b for s, b in zip(servers, cpu_before, strict=True))
    runs = [_parse(out) for out in outputs]
    requests = sum(run.requests for run in runs)
    return Measurement(
        rps=sum(run.rps for run in runs),
        p50_ms=max(run.p50_ms for run in runs),
        p99_ms=max(run.p99_ms for run in runs),
        errors=sum(run.errors for run in runs),
        cpu_ms=cpu * 1000 / requests if requests else 0.0,
    )
