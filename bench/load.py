"""The uvicorn servers and the ``wrk`` runs, all on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


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


class Server:
    """One uvicorn worker serving the benchmark project; a context manager that always stops it."""

    def __init__(
        self, python: str, env: dict[str, str], name: str, settings: dict[str, str]
    ) -> None:
        self.port = free_port()
        self.name = name
        self.log = (Path(env["BENCH_TMP"]) / f"uvicorn-{name}.log").open("w")
        self.process = subprocess.Popen(
            [
                python, "-m", "uvicorn", "project.asgi:application",
                "--host", HOST, "--port", str(self.port), "--workers", "1",
                "--no-access-log", "--log-level", "warning",
            ],
            cwd=BENCH, env={**env, **settings},
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def __enter__(self) -> Server:
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn ({self.name}) exited: see {self.log.name}")
            try:
                if status(self.port, "/ceiling/", None) == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"uvicorn ({self.name}) did not answer within 30 s")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


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
    args.append(f"http://{HOST}:{server.port}{path}")
    cpu_before = cpu_seconds(server.process.pid)
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    cpu = cpu_seconds(server.process.pid) - cpu_before
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
