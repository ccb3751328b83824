"""The uvicorn servers (started by ``tests.servers``) and the ``wrk`` runs, on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.servers import Server

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
    from tests.servers import uvicorn

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


def wrk(
    server: Server, path: str, cookie: str | None, conns: int, seconds: int
) -> Measurement:
    """Drive ``path`` for ``seconds`` with ``conns`` connections from one wrk thread."""
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
    args.append(f"{server.url}{path}")
    cpu_before = cpu_seconds(server.pid)
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    cpu = cpu_seconds(server.pid) - cpu_before
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
    cpu_ms = cpu * 1000 / int(requests[1]) if int(requests[1]) else 0.0
    return Measurement(float(rps[1]), _ms(p50[1]), _ms(p99[1]), errors, cpu_ms)
