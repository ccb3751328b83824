"""The benchmark's virtualenv and the programs it drives, installed on first use.

``bench/run.py`` starts under any Python 3.10+; ``reenter()`` creates
``.venv-bench`` (Python 3.12 when available) with ``REQUIREMENTS`` and re-runs
the script inside it. ``ensure_wrk()`` installs ``wrk`` with apt when missing
and running as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".venv-bench"
REQUIREMENTS = (
    "-e",
    f"{ROOT}[channels]",
    "uvicorn",
    "django-async-extensions",
    "matplotlib",
    # PostgreSQL through psycopg 3, with Django's connection pool (Django 5.1+):
    "psycopg[binary,pool]>=3.1",
    # Native mode: django-async-backend's engine (Django 6.1, Python 3.12+):
    "django-async-backend>=6.1.5",
    # The identity cache on Django's RedisCache, read with redis.asyncio,
    # parsed with hiredis (the redis extra):
    "redis[hiredis]>=4.5",
    # devtools.servers, which starts the servers:
    "mirakuru>=3.0",
    "port-for>=0.7",
)


def in_venv() -> bool:
    """Whether this process runs in the benchmark's virtualenv."""
    return Path(sys.prefix).resolve() == VENV.resolve()


def interpreter() -> str:
    """Python 3.12 when it runs here (Django 6 needs it), else this Python."""
    found = shutil.which("python3.12")
    if found and subprocess.run([found, "-c", ""], cwd=ROOT).returncode == 0:
        return found
    return sys.executable


def reenter(script: str) -> None:
    """Create the virtualenv if needed and re-exec ``script`` inside it."""
    sys.path.insert(0, str(ROOT))
    from run import _venv  # the project's one virtualenv helper

    python = _venv(VENV.name, *REQUIREMENTS, interpreter=interpreter())
    os.execv(str(python), [str(python), script, *sys.argv[1:]])


def ensure_wrk() -> None:
    """Install ``wrk`` with apt when it is missing (as root), or say how."""
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: install it (apt-get install wrk) and rerun.")
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, timeout=600)
