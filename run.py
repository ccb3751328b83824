#!/usr/bin/env python3
"""The project's two commands, for a fresh clone with Python 3.10+ and nothing else.

    python3 run.py demo   set up and serve the example site on http://127.0.0.1:8000
    python3 run.py test   set up tox and run every test environment this machine can,
                          as many at once as it has cores

    python3 run.py scale  the example site on PostgreSQL and Redis, served by two
                          uvicorn processes on ports 8000 and 8001

Each command creates the virtualenv it needs (``.venv-demo``, ``.venv-tools``,
``.venv-scale``) the first time and reuses it after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _venv(name: str, *requirements: str, interpreter: str | None = None) -> Path:
    """Create ``ROOT/name`` with ``requirements`` installed; return its python.

    ``requirements`` are ``pip install`` arguments, so ``"--group", "example"``
    installs a dependency group of ``pyproject.toml`` (pip 25.1 or later: pip
    is upgraded first).

    ``interpreter`` creates it with another Python than this one (Django 6
    needs 3.12 where ``python3`` is older).
    """
    path = ROOT / name
    python = path / ("Scripts" if os.name == "nt" else "bin") / "python"
    marker = path / ".requirements"
    wanted = "\n".join(requirements)
    if not python.exists():
        print(f"Creating {path.name} ...", flush=True)
        if interpreter is None:
            venv.create(path, with_pip=True)
        else:
            _run(interpreter, "-m", "venv", path)
    if not marker.exists() or marker.read_text() != wanted:
        _run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        _run(python, "-m", "pip", "install", "--quiet", *requirements)
        marker.write_text(wanted)
    return python


def _run(*args: object, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    """Run a command to its end; exit with its code if it fails.

    SIGTERM sent to this script (by a supervisor, a container, a script) is
    passed on to the command, which then stops as on Ctrl+C; Ctrl+C reaches it
    directly, as it shares the terminal's process group.
    """
    child = subprocess.Popen([str(a) for a in args], cwd=cwd, env=env)
    previous = signal.signal(
        signal.SIGTERM, lambda signum, _: child.send_signal(signum)
    )
    try:
        try:
            returncode = child.wait()
        except KeyboardInterrupt:
            returncode = child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if returncode:
        sys.exit(returncode)


def demo() -> None:
    """Serve the example site with uvicorn on 127.0.0.1:8000."""
    python = _venv(".venv-demo", "-e", f"{ROOT}[channels]", "--group", "example")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "example")}
    manage = ROOT / "example" / "manage.py"
    _run(python, manage, "migrate", "--noinput", "--verbosity", "0", env=env)
    _run(python, manage, "demo_users", env=env)
    port = os.environ.get("PORT", "8000")
    print(f"Serving the example site on http://127.0.0.1:{port}/ (Ctrl+C to stop)")
    _run(
        python, "-m", "uvicorn", "example_site.asgi:application",
        "--host", "127.0.0.1", "--port", port,
        "--lifespan", "off",  # Django's ASGI handler has no lifespan events
        cwd=ROOT / "example", env=env,
    )  # fmt: skip


def scale() -> None:
    """Serve the example site on PostgreSQL and Redis with two uvicorn processes."""
    python = _venv(".venv-scale", "-e", f"{ROOT}[channels]", "--group", "example-scale")
    _run(python, ROOT / "example" / "scale.py")


def _names_one_env(args: list[str]) -> bool:
    """Whether tox's arguments ``args`` select exactly one environment (``-e X``)."""
    names: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":  # pytest's arguments follow
            break
        if arg in {"-e", "--env"} and index + 1 < len(args):
            names += args[index + 1].split(",")
        elif arg.startswith("--env="):
            names += arg.removeprefix("--env=").split(",")
        elif arg.startswith("-e") and not arg.startswith("--"):
            names += arg[2:].split(",")
    return len(names) == 1


def test() -> None:
    """Run tox: the environments in parallel, one per core, each one's output
    printed whole when it ends, then a summary of all; a single environment
    named with ``-e`` runs with its output live. In CI (``CI=true``) a
    missing interpreter fails instead of skipping."""
    python = _venv(".venv-tools", "tox>=4.22")
    given = sys.argv[2:]
    if _names_one_env(given):
        args = [python, "-m", "tox", "run"]
    else:
        args = [python, "-m", "tox", "run-parallel", "--parallel", "auto", "--parallel-no-spinner"]  # fmt: skip
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        args.append("--skip-missing-interpreters=false")
    _run(*args, *given)


COMMANDS = {"demo": demo, "test": test, "scale": scale}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]]()
