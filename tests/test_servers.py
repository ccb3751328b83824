"""The one way servers are started: free ports without races, a clear error
with the log, and no process left behind, whatever ends the process that
started them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import port_for
import pytest

from devtools import servers
from devtools.servers import HOST, Server, ServerError, answers_http, start

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


def http_server(port: int | None = None) -> Server:
    """Python's own HTTP server: a real server that starts in a blink."""
    return start(
        "http.server",
        lambda p: [sys.executable, "-m", "http.server", str(p), "--bind", HOST],
        url=lambda p: f"http://{HOST}:{p}",
        ready=answers_http(),
        port=port,
    )


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (or is a zombie) within ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in {"Z", "X"}:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


@pytest.fixture
def taken_port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A port held by a socket of this process: listening, or only bound."""
    with socket.socket() as holder:
        holder.bind((HOST, 0))
        if request.param == "listening":
            holder.listen()
        yield int(holder.getsockname()[1])


def test_a_server_answers_then_is_stopped_by_its_pid() -> None:
    with http_server() as server:
        assert answers_http()(server.port)
        pid = server.pid
        assert not gone(pid, within=0)
    assert gone(pid, within=0)  # stop() waited for it
    assert not answers_http()(server.port)


@pytest.mark.parametrize("taken_port", ["listening", "bound"], indirect=True)
def test_a_port_taken_after_it_was_picked_is_retried_on_another(
    taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, made certain: port-for's pick is taken before the server binds
    it, by a server (answering) or a socket (the server's bind fails)."""
    picks = iter([taken_port])
    real_pick = port_for.select_random
    monkeypatch.setattr(
        port_for, "select_random", lambda: next(picks, None) or real_pick()
    )
    with http_server() as server:
        assert server.port != taken_port
        assert answers_http()(server.port)


@pytest.mark.parametrize("taken_port", ["listening", "bound"], indirect=True)
def test_a_named_port_that_is_taken_is_an_error(taken_port: int) -> None:
    with pytest.raises(ServerError, match="already"):
        http_server(port=taken_port)


def test_a_server_that_exits_is_an_error_with_its_log() -> None:
    with pytest.raises(ServerError) as error:
        start(
            "a broken server",
            lambda p: [
                sys.executable,
                "-c",
                "print('no settings'); raise SystemExit(3)",
            ],
            url=str,
        )
    assert "a broken server exited with 3" in str(error.value)
    assert "no settings" in str(error.value)


def test_a_server_that_exits_cleanly_before_it_answers_is_an_error() -> None:
    with pytest.raises(ServerError, match="exited with 0"):
        start("a one-shot command", lambda p: [sys.executable, "-c", "pass"], url=str)


def test_a_server_that_never_answers_is_killed_after_the_timeout() -> None:
    with pytest.raises(ServerError, match="not ready within 1 s"):
        start(
            "a silent server",
            lambda p: [
                sys.executable,
                "-c",
                f"import time; print({p}); time.sleep(60)",
            ],
            url=str,
            timeout=1,
        )


STARTER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.test_servers import http_server
with http_server() as server:
    print(server.pid, flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize(
    "ending",
    [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
    ids=["KeyboardInterrupt", "SIGTERM", "SIGKILL"],
)
def test_a_server_ends_with_the_process_that_started_it(ending: int) -> None:
    """Ctrl+C stops it in order; a SIGTERM or SIGKILL that skips every cleanup
    still ends it (its parent-death signal)."""
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER.format(root=str(ROOT))],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        # As from a terminal, whatever this process inherited.
        preexec_fn=servers.default_signals,
    )
    pid = None
    try:
        assert starter.stdout is not None
        pid = int(starter.stdout.readline())
        assert not gone(pid, within=0)
        starter.send_signal(ending)
        starter.wait(timeout=30)
        assert gone(pid), f"server {pid} outlived the process that started it"
    finally:
        starter.kill()
        starter.communicate()  # waits, and closes its stdout
        if pid is not None and not gone(pid, within=0):
            os.kill(pid, signal.SIGKILL)  # not to leak it when the test fails


def ignored_signals(pid: int) -> set[int]:
    """The signals process ``pid`` ignores, from its ``SigIgn`` mask."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)  # fmt: skip
    return {number for number in range(1, 65) if mask & (1 << (number - 1))}


def test_a_server_starts_with_default_signals_whatever_its_starter_ignores() -> None:
    """A background job of a shell starts with SIGINT ignored, and an ignored
    signal survives exec: the server must not inherit it."""
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in servers.RESET_SIGNALS}  # fmt: skip
    try:
        with http_server() as server:
            assert not ignored_signals(server.pid) & set(servers.RESET_SIGNALS)
            pid = server.pid
            os.kill(pid, signal.SIGINT)  # Python's default: KeyboardInterrupt
            assert gone(pid)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_the_server_tests_pass_when_started_with_sigint_ignored() -> None:
    """The README's test command, started as a background job of a script (as
    some CI runners start it), inherits SIGINT ignored; these tests stop
    servers and their starters with SIGINT, and once waited 30 s for a starter
    that ignored it."""
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_servers.py", "-k", "not sigint_ignored"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_ignore_sigint,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "failed" not in run.stdout
    assert time.monotonic() - started < 60, run.stdout


def test_postgresql_runs_a_throwaway_cluster_as_a_user_it_may_run_as() -> None:
    psycopg = pytest.importorskip("psycopg")
    if servers.postgresql_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    from devtools.databases import create_database, drop_database

    with servers.postgresql() as server:
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_text().split("\0")
        data = Path(cmdline[cmdline.index("-D") + 1])
        assert data.is_dir()
        url = create_database(server.url, "throwaway")
        with psycopg.connect(url) as connection:
            row = connection.execute(
                "SELECT current_database(), current_user"
            ).fetchone()
            assert row == ("throwaway", "postgres")
            owner = connection.execute("SHOW data_directory").fetchone()
            assert owner == (str(data),)
        drop_database(url)
        pid = server.pid
        if os.geteuid() == 0:  # PostgreSQL refuses root
            assert data.stat().st_uid != 0
    assert gone(pid, within=0)
    assert not data.exists()
