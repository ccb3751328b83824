"""Headless Chromium (Debian's ``chromium`` package) driven by Playwright.

``playwright install`` is never run: it downloads browsers. The tests use the
system's Chromium, which ``.ci/run`` installs with apt-get. Without it they
are skipped, except in CI (``CI=true``), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No traffic to anything but the site under test on 127.0.0.1.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "browser"


def chromium_path() -> str | None:
    """Debian's Chromium, or ``None`` when it is not installed."""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """Chromium's path; skip (fail in CI) before any server starts without it."""
    executable = chromium_path()
    if executable is None:
        reason = "Chromium is not installed (apt-get install chromium)"
        if in_ci():
            pytest.fail(f"{reason}; .ci/run should have installed it.")
        pytest.skip(reason)
    return executable


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """One headless Chromium for the module; each test opens its own contexts."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where each step's screenshot goes: test-output/browser/ (gitignored),
    emptied of the previous run's files first."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.iterdir():
        old.unlink()
    return SCREENSHOTS
