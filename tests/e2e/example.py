"""The example site as the end-to-end tests run it: where it is, and its demo users."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "example"
APP = "example_site.asgi:application"
SETTINGS = "example_site.settings"
# What example/demo/management/commands/demo_users.py creates (and resets).
PASSWORDS = {"alice": "alice-demo-pass", "bob": "bob-demo-pass"}


def site_env(
    db_path: Path | None = None, *, database_url: str | None = None
) -> dict[str, str]:
    """The environment of a site on the SQLite file ``db_path``, or on the
    PostgreSQL database ``database_url``."""
    # The package from this tree, as the test process imports it.
    env = {"PYTHONPATH": os.pathsep.join([str(EXAMPLE), str(EXAMPLE.parent)])}
    if database_url is not None:
        env["EXAMPLE_DATABASE_URL"] = database_url
    else:
        env["EXAMPLE_DB_PATH"] = str(db_path)
    return env


def manage(*args: str, env: dict[str, str]) -> None:
    """Run the example's ``manage.py`` with ``env``; fail the test if it fails."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "manage.py"), *args],
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": SETTINGS},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode:
        pytest.fail(
            f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
        )
