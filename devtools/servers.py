"""Start the servers the tests, the benchmarks and the scripts need, one way.

uvicorn, redis-server and PostgreSQL each run as a child process listening on
127.0.0.1, started and watched by mirakuru's ``TCPExecutor``, and stopped by a
signal to their own PID. Nothing here imports the test settings or pytest:
``bench/`` and ``example/scale.py`` import it too, with the repository root on
``sys.path``. Every starter returns a running ``Server``, a context manager::

    from devtools.databases import create_database
    from devtools.servers import postgresql, redis, uvicorn

    with postgresql() as pg, redis() as cache:
        url = create_database(pg.url, "bench")  # postgresql://postgres@127.0.0.1:PORT/bench
        env = {"DATABASE_URL": url, "REDIS_URL": cache.url}
        with uvicorn("project.asgi:application", cwd=BENCH,
                     settings="project.settings", env=env, ready_path="/ceiling/") as web:
            ...  # web.url, web.port, web.pid, web.log()

- ``uvicorn(app, cwd=, settings=, ...)`` and ``daphne(...)`` answer once
  ``ready_path`` gets any HTTP answer; ``start(name, command, url=, ready=)`` serves any other command
  that takes its port (``bench/soak.py`` serves its own process so).
- ``redis()``: ``redis-server`` saving nothing.
- ``postgresql()``: ``initdb`` into a temporary folder (removed on stop), then
  ``postgres`` with durability off (a throwaway server) and TCP only; as root,
  it runs as Debian's ``postgres`` user (PostgreSQL refuses root). Its URL
  names the ``postgres`` database of superuser ``postgres``, trusted from
  127.0.0.1; ``devtools.databases.create_database()`` adds databases.

Ports: port-for picks an unused port outside the ephemeral range, unless the
caller names one. When another process takes it between the pick and the
server's bind (the server exits with "address already in use", or something
already answers there), the start is retried on another port.

Never leaks a process: ``stop()`` (or leaving the ``with`` block) signals the
server's PID, waits, then mirakuru kills whatever is left of its process
group. The server runs in its own session, so Ctrl+C in a terminal reaches
only this process, which then stops the server in order; mirakuru kills
what is still running at interpreter exit, and on Linux the server gets its
stop signal when the thread that started it dies, even by SIGKILL. The server
starts with SIGINT and SIGTERM at their defaults, whatever this process
inherited: a shell runs a background job with SIGINT ignored (as does a CI
runner that starts the tests so), and a server that inherited that would
never stop on SIGINT (PostgreSQL's stop signal).

The PostgreSQL run of the test suite (tox's ``py312-dj61-postgres``) is::

    python -m devtools.servers postgresql -- pytest

which sets ``ASYNC_AUTH_TEST_DATABASE_URL`` for the command (see
``devtools.databases``) and stops the server when it ends.
"""

from __future__ import annotations

import argparse
import ctypes
import http.client
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import port_for
from mirakuru import TCPExecutor
from mirakuru.exceptions import (
    AlreadyRunning,
    ProcessExitedWithError,
    ProcessFinishedWithError,
    TimeoutExpired,
)

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
PORT_ATTEMPTS = 5
POSTGRESQL_SUPERUSER = "postgres"

#: The command that serves on a given port.
Command = Callable[[int], Sequence["str | Path"]]
#: Whether the server on a given port is ready, once it accepts TCP connections.
Ready = Callable[[int], bool]


class ServerError(RuntimeError):
    """A server exited, or did not answer in time; the message holds its log."""


@dataclass
class Server:
    """A running server: where it listens, its PID and its log."""

    name: str
    url: str
    port: int
    log_path: Path
    executor: _Executor
    stop_signal: int = signal.SIGTERM
    cleanup: ExitStack = field(default_factory=ExitStack)
    #: Set by stop() when the server had exited with an error before it.
    returncode: int | None = None

    @property
    def process(self) -> subprocess.Popen[str]:
        process = self.executor.process
        if process is None:
            raise ServerError(f"{self.name} was stopped")
        return process

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        """What the server wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Signal the server's PID and wait; kill what is left after STOP_TIMEOUT."""
        try:
            process = self.executor.process
            if process is not None and process.poll() is None:
                os.kill(process.pid, self.stop_signal)
                with suppress(subprocess.TimeoutExpired):  # the executor kills it
                    process.wait(timeout=STOP_TIMEOUT)
            # Signals the process group, kills it if still running, and kills
            # any process started under this executor that outlived it.
            self.executor.stop()
        except ProcessFinishedWithError as finished:
            self.returncode = finished.exit_code  # crashed earlier: see log()
        finally:
            self.cleanup.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _Executor(TCPExecutor):
    """mirakuru's TCP executor with a readiness check of our own, that counts a
    clean exit before it as a failure, and a parent-death signal on Linux."""

    def __init__(
        self, command: Sequence[str], port: int, ready: Ready | None, **kwargs: Any
    ) -> None:
        super().__init__(list(command), host=HOST, port=port, **kwargs)
        self._ready = ready

    def after_start_check(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise ProcessExitedWithError(self, self.process.returncode)
        if not super().after_start_check():
            return False
        return self._ready is None or self._ready(self.port)

    @property
    def _popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super()._popen_kwargs
        kwargs["preexec_fn"] = partial(
            _start_session_dying_with_parent, self._stop_signal, os.getpid()
        )
        return kwargs


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
#: The signals a child gets at their defaults, whatever this process inherited.
RESET_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def default_signals() -> None:
    """In a child, before exec: SIGINT and SIGTERM back to their defaults.

    An ignored signal stays ignored across exec, and Python installs no
    KeyboardInterrupt handler for a SIGINT it starts with ignored, so a child
    of a background job would never stop on Ctrl+C's signal. Also a
    ``preexec_fn`` for the tests' own children."""
    for number in RESET_SIGNALS:
        signal.signal(number, signal.SIG_DFL)


def _start_session_dying_with_parent(stop_signal: int, parent: int) -> None:
    """In the child, before exec: default signal dispositions, a new session
    (as mirakuru does), and on Linux the stop signal when the parent dies. Runs
    after the switch of user, which would clear the death signal."""
    default_signals()
    os.setsid()
    if _libc is None:
        return
    _libc.prctl(_PR_SET_PDEATHSIG, stop_signal)
    if os.getppid() != parent:  # the parent died before prctl
        os.kill(os.getpid(), stop_signal)


def _as_user(user: str | None) -> dict[str, Any]:
    """Popen's arguments that run the child as ``user`` (None: as this process)."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def start(
    name: str,
    command: Command,
    *,
    url: Callable[[int], str],
    ready: Ready | None = None,
    port: int | None = None,
    log_path: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    stop_signal: int = signal.SIGTERM,
    cleanup: ExitStack | None = None,
    timeout: float = STARTUP_TIMEOUT,
) -> Server:
    """Run ``command(port)`` until it accepts connections on 127.0.0.1:port and
    ``ready(port)``; return the running ``Server``.

    ``port`` None picks a free one, and retries on another when the server could
    not bind it. ``env`` is added to this process's environment; ``user`` runs
    the server as that user (this process must be root); ``cleanup`` runs after
    the server stops, also when it fails to start. Raises ``ServerError`` with
    the server's log when it exits or does not answer within ``timeout``.
    """
    cleanup = cleanup if cleanup is not None else ExitStack()
    try:
        if log_path is None:
            fd, temporary = tempfile.mkstemp(prefix="server-", suffix=".log")
            os.close(fd)
            log_path = Path(temporary)
            cleanup.callback(log_path.unlink, missing_ok=True)
        for _ in range(1 if port else PORT_ATTEMPTS):
            chosen = port or port_for.select_random()
            with log_path.open("wb") as log:
                executor = _Executor(
                    [str(part) for part in command(chosen)],
                    chosen,
                    ready,
                    cwd=str(cwd) if cwd else None,
                    envvars=dict(env or {}),
                    timeout=timeout,
                    stop_signal=stop_signal,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    popen_kwargs=_as_user(user),
                )
                try:
                    executor.start()
                except AlreadyRunning:
                    if port:
                        raise ServerError(
                            f"{name}: port {port} already answers"
                        ) from None
                    continue  # taken since port-for picked it
                except ProcessExitedWithError as exited:
                    executor.kill()
                    text = log_path.read_text(errors="replace")
                    if not port and "address already in use" in text.lower():
                        continue
                    raise ServerError(
                        f"{name} exited with {exited.exit_code} before it was "
                        f"ready:\n{text}"
                    ) from None
                except TimeoutExpired:
                    text = log_path.read_text(errors="replace")
                    raise ServerError(
                        f"{name} was not ready within {timeout:.0f} s:\n{text}"
                    ) from None
                except BaseException:  # KeyboardInterrupt while waiting
                    executor.kill()
                    raise
            return Server(
                name, url(chosen), chosen, log_path, executor, stop_signal, cleanup
            )
        raise ServerError(f"{name}: no free port in {PORT_ATTEMPTS} attempts")
    except BaseException:
        cleanup.close()
        raise


def answers_http(path: str = "/") -> Ready:
    """Ready once a GET of ``path`` gets any HTTP answer."""

    def ready(port: int) -> bool:
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            connection.request("GET", path)
            connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()
        return True

    return ready


def uvicorn(
    app: str,
    *,
    cwd: Path,
    settings: str,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/",
    options: Sequence[str] = (),
    port: int | None = None,
    log_path: Path | None = None,
    python: str | Path = sys.executable,
) -> Server:
    """``python -m uvicorn app *options`` from ``cwd``, with the Django settings
    module ``settings`` (this process's own is never passed on)."""

    def command(port: int) -> list[str | Path]:
        return [python, "-m", "uvicorn", app, *options, "--host", HOST, "--port", str(port)]  # fmt: skip

    return _asgi_server("uvicorn", app, command, cwd, settings, env, ready_path, port, log_path)  # fmt: skip


def daphne(
    app: str,
    *,
    cwd: Path,
    settings: str,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/",
    options: Sequence[str] = (),
    port: int | None = None,
    log_path: Path | None = None,
    python: str | Path = sys.executable,
) -> Server:
    """``python -m daphne *options app``, as ``uvicorn()`` serves it."""

    def command(port: int) -> list[str | Path]:
        return [python, "-m", "daphne", *options, "-b", HOST, "-p", str(port), app]  # fmt: skip

    return _asgi_server("daphne", app, command, cwd, settings, env, ready_path, port, log_path)  # fmt: skip


def _asgi_server(
    server: str,
    app: str,
    command: Command,
    cwd: Path,
    settings: str,
    env: Mapping[str, str] | None,
    ready_path: str,
    port: int | None,
    log_path: Path | None,
) -> Server:
    return start(
        f"{server} {app}",
        command,
        url=lambda port: f"http://{HOST}:{port}",
        ready=answers_http(ready_path),
        port=port,
        log_path=log_path,
        cwd=cwd,
        env={**(env or {}), "DJANGO_SETTINGS_MODULE": settings},
    )


def redis(*, port: int | None = None, log_path: Path | None = None) -> Server:
    """A ``redis-server`` that saves nothing; its URL names database 0."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise FileNotFoundError(
            "redis-server is not on PATH (apt-get install redis-server)"
        )

    # Its own folder: a replica's full sync writes an RDB file even so.
    cleanup = ExitStack()
    files = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="redis-"))

    def command(port: int) -> list[str]:
        return [executable, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", files]  # fmt: skip

    return start(
        "redis-server",
        command,
        url=lambda port: f"redis://{HOST}:{port}/0",
        port=port,
        log_path=log_path,
        cleanup=cleanup,
    )


def postgresql_bin() -> Path | None:
    """The folder of ``postgres``: on PATH, or the newest of Debian's packages."""
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).resolve().parent  # Debian: symlinks to its folder
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name),
    )
    return found[-1].parent if found else None


def _postgresql_owner() -> str | None:
    """Who runs PostgreSQL: this process's user, or Debian's ``postgres`` as root."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return user
    raise ServerError("PostgreSQL refuses to run as root, and no postgres user exists")


def postgresql(*, port: int | None = None, log_path: Path | None = None) -> Server:
    """A throwaway PostgreSQL cluster; its URL names the ``postgres`` database."""
    bin_dir = postgresql_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL is missing (apt-get install postgresql)")
    owner = _postgresql_owner()
    cleanup = ExitStack()
    try:
        # As root, in /tmp: TMPDIR may be a folder the owner cannot enter.
        temporary = "/tmp" if owner is not None else None
        data = Path(tempfile.mkdtemp(prefix="postgresql-", dir=temporary))
        cleanup.callback(shutil.rmtree, data, ignore_errors=True)
        if owner is not None:
            entry = pwd.getpwnam(owner)
            os.chown(data, entry.pw_uid, entry.pw_gid)
        initdb = subprocess.run(
            [bin_dir / "initdb", "-D", data, "-U", POSTGRESQL_SUPERUSER,
             "--auth", "trust", "--encoding", "UTF8", "--no-sync"],
            cwd=data, capture_output=True, text=True, timeout=120, **_as_user(owner),
        )  # fmt: skip
        if initdb.returncode:
            raise ServerError(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")

        def ready(port: int) -> bool:
            check = [bin_dir / "pg_isready", "-q", "-h", HOST, "-p", str(port)]
            return subprocess.run(check, timeout=10).returncode == 0

        def command(port: int) -> list[str | Path]:
            return [
                bin_dir / "postgres", "-D", data, "-p", str(port),
                "-c", f"listen_addresses={HOST}", "-c", "unix_socket_directories=",
                "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
            ]  # fmt: skip

        def url(port: int) -> str:
            return f"postgresql://{POSTGRESQL_SUPERUSER}@{HOST}:{port}/postgres"

        return start(
            f"PostgreSQL {bin_dir.parent.name}",
            command,
            url=url,
            ready=ready,
            port=port,
            log_path=log_path,
            cwd=data,  # where the owner may be: not in /root
            user=owner,
            stop_signal=signal.SIGINT,  # fast shutdown: ends open sessions
            cleanup=cleanup,
        )
    except BaseException:
        cleanup.close()
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m devtools.servers postgresql -- COMMAND``: run COMMAND with a
    throwaway PostgreSQL server; return its exit status."""
    from devtools.databases import TEST_DATABASE_URL, create_database

    parser = argparse.ArgumentParser(prog="python -m devtools.servers")
    parser.add_argument("server", choices=["postgresql"])
    parser.add_argument("--env", default=TEST_DATABASE_URL, help="its URL's variable")
    parser.add_argument(
        "--scheme",
        default="postgresql",
        help="its URL's scheme: postgresql+async for django-async-backend's engine",
    )
    parser.add_argument("--query", default="", help="its URL's query (pool=1)")
    parser.add_argument("command", nargs="+", help="the command to run, after --")
    args = parser.parse_args(argv)
    # A SIGTERM (tox, CI) stops the server as Ctrl+C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with postgresql() as server:
        url = create_database(server.url, "async_auth_views")
        url = urlsplit(url)._replace(scheme=args.scheme, query=args.query).geturl()
        print(f"{server.name} on {HOST}:{server.port}: {args.env}={url}", flush=True)
        command = subprocess.run(args.command, env={**os.environ, args.env: url})
        return command.returncode


if __name__ == "__main__":
    sys.exit(main())
