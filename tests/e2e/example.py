"""The example site as the end-to-end tests run it: where it is, and its demo users."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .server import server_env

EXAMPLE = Path(__file__).resolve().parents[2] / "example"
APP = "example_site.asgi:application"
SETTINGS = "example_site.settings"
# What example/demo/management/commands/demo_users.py creates (and resets).
PASSWORDS = {"alice": "alice-demo-pass", "bob": "bob-demo-pass"}


def site_env(db_path: Path) -> dict[str, str]:
    """The environment of a site whose SQLite database is ``db_path``."""
    return {"PYTHONPATH": str(EXAMPLE), "EXAMPLE_DB_PATH": str(db_path)}


def manage(*args: str, env: dict[str, str]) -> None:
    """Run the example's ``manage.py`` with ``env``; fail the test if it fails."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "manage.py"), *args],
        env=server_env(env, SETTINGS),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode:
        pytest.fail(
            f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
        )
