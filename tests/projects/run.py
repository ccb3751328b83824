"""Start a command in one of these projects, in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run(
    settings: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python *args`` from the repository root, with ``tests.projects.<settings>``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": f"tests.projects.{settings}",
        "PYTHONPATH": str(ROOT),
        "PYTHONWARNINGS": "ignore",
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check(settings: str) -> str:
    """What ``manage.py check`` says in the project (stdout and stderr)."""
    done = run(settings, "-m", "django", "check")
    return done.stdout + done.stderr


def doors(settings: str) -> dict[str, Any]:
    """What each door did in the project (see ``tests/projects/doors.py``)."""
    done = run(settings, "-m", "tests.projects.doors")
    if done.returncode != 0:
        raise AssertionError(f"doors.py failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
