#!/usr/bin/env python3
"""Soak the example site: mixed traffic for a bounded time, then what is left behind.

    python3 bench/soak.py [--duration 60] [--clients 16] [--sockets 8]

Creates ``.venv-soak`` on first use (as ``run.py`` creates its virtualenvs) and
re-runs itself inside it. Serves ``example/`` with uvicorn on 127.0.0.1 (set up
as ``python3 run.py demo`` sets it up, on a temporary database) with
``tracemalloc`` on, and drives it with:

- browsers (``--clients``) that log in through the real form as alice or bob,
  read the dashboard, the book list and the secret page (200 for alice, 403 for
  bob), open the live-panel WebSocket, and log out, which must close it (4401);
- anonymous browsers that are sent to the login page;
- WebSocket clients (``--sockets``) that connect with and without a session.

It reports the requests served, errors by kind, the server's memory (RSS) and
``tracemalloc``'s top growth between the end of the warm-up and the end, and
the sockets the server still holds once every client has gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example"
VENV = ".venv-soak"
REQUIREMENTS = (
    "-e",
    f"{ROOT}[channels]",
    "--group",
    "example",
    "httpx",
    "websockets",
    # devtools.servers, which starts the server:
    "mirakuru>=3.0",
    "port-for>=0.7",
)
HOST = "127.0.0.1"
PASSWORDS = {"alice": "alice-demo-pass", "bob": "bob-demo-pass"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOP = 10


# The server: uvicorn in this process, tracemalloc on, snapshots on SIGUSR1 ------


def serve(port: int, snapshots: Path) -> None:
    """Run the example site; on SIGUSR1, collect garbage and dump a snapshot."""
    import uvicorn

    tracemalloc.start()
    taken = 0

    def dump(signum: int, frame: Any) -> None:
        nonlocal taken
        gc.collect()
        tracemalloc.take_snapshot().dump(str(snapshots / f"{taken}.snapshot"))
        taken += 1
        (snapshots / f"{taken - 1}.done").touch()

    signal.signal(signal.SIGUSR1, dump)
    os.chdir(EXAMPLE)
    sys.path.insert(0, str(EXAMPLE))
    uvicorn.run(
        "example_site.asgi:application",
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
    )


# The clients ------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw."""

    server_pid: int
    requests: int = 0
    sockets_opened: int = 0
    revocations: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    rss_samples: list[int] = field(default_factory=list)
    server_cpu: float = 0.0

    def expect(self, what: str, got: Any, wanted: Any) -> bool:
        if got != wanted:
            self.errors[f"{what}: got {got!r}, expected {wanted!r}"] += 1
            return False
        return True


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    return match.group(1) if match else ""


async def browser(url: str, deadline: float, tally: Tally, rng: random.Random) -> None:
    """Log in, browse, hold the live panel open, log out; again until ``deadline``."""
    import httpx
    import websockets

    ws_url = url.replace("http://", "ws://") + "/ws/live/"
    while time.monotonic() < deadline:
        username = rng.choice(["alice", "bob", None])
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                if username is None:
                    response = await http.get("/secret/")
                    tally.requests += 1
                    tally.expect("anonymous /secret/", response.status_code, 302)
                    continue
                form = await http.get("/login/")
                response = await http.post(
                    "/login/",
                    data={
                        "username": username,
                        "password": PASSWORDS[username],
                        "csrfmiddlewaretoken": csrf_token(form.text),
                    },
                )
                tally.requests += 2
                if not tally.expect("login", response.status_code, 302):
                    continue
                cookie = f"sessionid={http.cookies['sessionid']}"
                live = await websockets.connect(
                    ws_url, origin=url, additional_headers={"Cookie": cookie}
                )
                tally.sockets_opened += 1
                hello = json.loads(await asyncio.wait_for(live.recv(), 10))
                tally.expect("live panel user", hello, {"user": username})
                page = None
                for _ in range(rng.randint(40, 120)):
                    if time.monotonic() >= deadline:
                        break
                    path = rng.choice(["/", "/books/", "/secret/"])
                    page = await http.get(path)
                    tally.requests += 1
                    wanted = 403 if (path, username) == ("/secret/", "bob") else 200
                    tally.expect(f"{username} {path}", page.status_code, wanted)
                dashboard = await http.get("/")
                response = await http.post(
                    "/logout/", data={"csrfmiddlewaretoken": csrf_token(dashboard.text)}
                )
                tally.requests += 2
                tally.expect("logout", response.status_code, 302)
                try:
                    await asyncio.wait_for(live.wait_closed(), 5)
                except asyncio.TimeoutError:  # not TimeoutError before 3.11
                    tally.errors["live panel still open after logout"] += 1
                    await live.close()
                else:
                    if tally.expect("close code after logout", live.close_code, 4401):
                        tally.revocations += 1
        except (httpx.HTTPError, OSError, websockets.WebSocketException) as exc:
            tally.errors[f"transport: {type(exc).__name__}"] += 1


async def socket_client(url: str, deadline: float, tally: Tally) -> None:
    """Open the live panel with no session (refused) and echo over a fresh login."""
    import websockets

    ws_url = url.replace("http://", "ws://") + "/ws/live/"
    while time.monotonic() < deadline:
        try:
            await websockets.connect(ws_url, origin=url)
        except websockets.InvalidStatus as refused:
            tally.expect("anonymous handshake", refused.response.status_code, 403)
        except (OSError, websockets.WebSocketException) as exc:
            tally.errors[f"transport: {type(exc).__name__}"] += 1
        else:
            tally.errors["anonymous handshake accepted"] += 1
        tally.sockets_opened += 1
        await asyncio.sleep(0.05)


async def sample_rss(pid: int, deadline: float, samples: list[int]) -> None:
    """Record the server's RSS every tenth of the run, to tell growth from a plateau."""
    step = (deadline - time.monotonic()) / 10
    while time.monotonic() < deadline:
        samples.append(rss_kib(pid))
        await asyncio.sleep(step)


async def drive(
    url: str, seconds: float, clients: int, sockets: int, tally: Tally
) -> None:
    deadline = time.monotonic() + seconds
    rng = random.Random(0)
    await asyncio.gather(
        *(
            browser(url, deadline, tally, random.Random(rng.random()))
            for _ in range(clients)
        ),
        *(socket_client(url, deadline, tally) for _ in range(sockets)),
        sample_rss(tally.server_pid, deadline, tally.rss_samples),
    )


# Measuring the server -----------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_sockets(pid: int, port: int) -> tuple[int, int]:
    """(socket file descriptors, established TCP connections on ``port``)."""
    fds = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            fds += os.readlink(fd).startswith("socket:")
    established = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _, state = line.split()[1:4]
        established += int(local.split(":")[1], 16) == port and state == "01"
    return fds, established


def snapshot(pid: int, snapshots: Path, n: int) -> Any:
    os.kill(pid, signal.SIGUSR1)
    done = snapshots / f"{n}.done"
    while not done.exists():
        time.sleep(0.05)
    return tracemalloc.Snapshot.load(str(snapshots / f"{n}.snapshot"))


def soak(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(EXAMPLE),
        "EXAMPLE_DB_PATH": str(work / "db.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "example_site.settings",
    }
    manage = [sys.executable, str(EXAMPLE / "manage.py")]
    quiet = {"env": env, "check": True, "capture_output": True}
    subprocess.run([*manage, "migrate", "--noinput"], **quiet)  # type: ignore[call-overload]
    subprocess.run([*manage, "demo_users"], **quiet)  # type: ignore[call-overload]
    snapshots = work / "snapshots"
    snapshots.mkdir()
    sys.path.insert(0, str(ROOT))
    from devtools.servers import answers_http, start

    with start(
        "the soaked example site",
        lambda port: [sys.executable, __file__, "serve", str(port), snapshots],
        url=lambda port: f"http://{HOST}:{port}",
        ready=answers_http("/login/"),
        log_path=work / "server.log",
        env=env,
    ) as server:
        url, pid = server.url, server.pid
        warmup = min(10.0, args.duration / 6)
        print(f"Soaking {url} for {args.duration:.0f} s ({warmup:.0f} s warm-up) ...")
        warm = Tally(pid)
        asyncio.run(drive(url, warmup, args.clients, args.sockets, warm))
        # Taking a snapshot allocates (and the allocator keeps) several MiB:
        # RSS is read after the first and before the last, so both include it.
        start_snapshot = snapshot(pid, snapshots, 0)
        rss_start, cpu_start = rss_kib(pid), cpu_seconds(pid)
        began = time.monotonic()
        tally = Tally(pid)
        run = drive(url, args.duration - warmup, args.clients, args.sockets, tally)
        asyncio.run(run)
        elapsed = time.monotonic() - began
        tally.server_cpu = cpu_seconds(pid) - cpu_start
        time.sleep(1.0)  # let the server finish closing what the clients closed
        rss_end = rss_kib(pid)
        end = snapshot(pid, snapshots, 1)
        fds, established = open_sockets(pid, server.port)
        crashed = server.process.poll()
    report(
        tally, elapsed, rss_start, rss_end, start_snapshot, end, fds, established, args
    )
    log_text = (work / "server.log").read_text(errors="replace")
    # DEBUG is on in the example site: 403s are logged as warnings, with tracebacks.
    failures = [
        line
        for line in log_text.splitlines()
        if line.startswith(("Internal Server Error", "Exception in ASGI application"))
    ]
    print(f"  server errors logged   {len(failures)} (log: {work / 'server.log'})")
    if crashed is not None:
        print(f"  the server exited with {crashed} during the soak")


def report(
    tally: Tally,
    elapsed: float,
    rss_start: int,
    rss_end: int,
    start: Any,
    end: Any,
    fds: int,
    established: int,
    args: argparse.Namespace,
) -> None:
    growth = end.compare_to(start, "lineno")
    traced = sum(stat.size_diff for stat in growth)
    print(f"\nMeasured over {elapsed:.0f} s after the warm-up, {args.clients} browsers "
          f"and {args.sockets} socket clients:")  # fmt: skip
    print(f"  requests served        {tally.requests} ({tally.requests / elapsed:.0f}/s, "
          f"{tally.server_cpu:.0f} s of server CPU)")  # fmt: skip
    print(f"  WebSocket handshakes   {tally.sockets_opened}")
    print(f"  closed by logout       {tally.revocations} (code 4401)")
    errors = sum(tally.errors.values())
    print(f"  errors                 {errors}")
    for kind, count in tally.errors.most_common():
        print(f"    {count:6d}  {kind}")
    print(f"  server RSS             {rss_start / 1024:.1f} MiB -> {rss_end / 1024:.1f} MiB "
          f"({(rss_end - rss_start) / 1024:+.1f} MiB)")  # fmt: skip
    samples = " ".join(f"{kib / 1024:.0f}" for kib in [*tally.rss_samples, rss_end])
    print(f"  RSS through the run    {samples} MiB")
    print(f"  traced memory growth   {traced / 1024:+.1f} KiB")
    print(f"  open sockets at end    {fds} socket fds (listening socket included), "
          f"{established} established connections")  # fmt: skip
    print(f"\ntracemalloc's top {TOP} growth, end of warm-up to end:")
    for stat in growth[:TOP]:
        frame = stat.traceback[0]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        print(
            f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {where}"
        )


# The command --------------------------------------------------------------------


def bootstrap() -> None:
    """Re-run this script in ``.venv-soak``, created as ``run.py`` creates its own."""
    if Path(sys.prefix).resolve() == (ROOT / VENV).resolve():
        return
    sys.path.insert(0, str(ROOT))
    from run import _venv  # the project's one virtualenv helper

    python = _venv(VENV, *REQUIREMENTS)
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (60)")
    parser.add_argument("--clients", type=int, default=16, help="browsers (16)")
    parser.add_argument("--sockets", type=int, default=8, help="socket clients (8)")
    args = parser.parse_args()
    bootstrap()
    soak(args)


if __name__ == "__main__":
    main()
