"""The compatibility suite runs only under its own settings (``tox -e compat``).

Its settings install packages the main suite does not have; Django's settings
are configured once per process, so under any other settings module this
directory is left uncollected, and the report header says so.
"""

from __future__ import annotations

import os
from pathlib import Path

SETTINGS = "tests.compat.settings"
#: The same packages on the hostile-but-legal project (``tests.hostile``).
HOSTILE_SETTINGS = "tests.hostile.compat_settings"


def _selected() -> bool:
    return os.environ.get("DJANGO_SETTINGS_MODULE") in (SETTINGS, HOSTILE_SETTINGS)


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    if _selected() or collection_path.name == "conftest.py":
        return None
    return True


def pytest_report_header() -> str | None:
    if _selected():
        return None
    return f"tests/compat: not collected; run it with --ds={SETTINGS} (tox -e compat)"
