"""Run Django's own test suites against this library, as an outside reviewer would.

Downloads the sdist of the Django version installed (it ships ``tests/``),
swaps our classes in for Django's where a project would (the middleware, the
mixins, the decorators), and runs Django's ``runtests.py`` on the suites that
exercise them::

    python -m tests.django_tests.upstream              # auth_tests sessions_tests
    python -m tests.django_tests.upstream auth_tests   # one suite

Every swap must find its target, so a change in Django's files fails loudly
instead of silently testing Django against itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
SUITES = ("auth_tests", "sessions_tests")

#: (file under tests/, Django's text, ours): what a project changes to adopt us.
SWAPS = (
    (
        "auth_tests/test_mixins.py",
        "from django.contrib.auth.mixins import",
        "from async_auth_views.mixins import",
    ),
    (
        "auth_tests/test_middleware.py",
        "from django.contrib.auth.middleware import",
        "from async_auth_views.middleware import",
    ),
    (
        "auth_tests/test_decorators.py",
        "from django.contrib.auth.decorators import",
        "from async_auth_views.decorators import",
    ),
    (
        "sessions_tests/tests.py",
        "from django.contrib.sessions.middleware import",
        "from async_auth_views.middleware import",
    ),
    (
        "runtests.py",
        '    "django.contrib.staticfiles",\n]',
        '    "django.contrib.staticfiles",\n    "async_auth_views",\n]',
    ),
)
#: Middleware paths replaced in these files' settings and decorators.
MIDDLEWARE = {
    "django.contrib.sessions.middleware.SessionMiddleware": (
        "async_auth_views.middleware.SessionMiddleware"
    ),
    "django.contrib.auth.middleware.AuthenticationMiddleware": (
        "async_auth_views.middleware.AuthenticationMiddleware"
    ),
    "django.contrib.auth.middleware.LoginRequiredMiddleware": (
        "async_auth_views.middleware.LoginRequiredMiddleware"
    ),
}
MIDDLEWARE_FILES = (
    "runtests.py",
    "auth_tests/settings.py",
    "auth_tests/test_middleware.py",
    "auth_tests/test_views.py",
)


def django_tests(cache: Path) -> Path:
    """The ``tests/`` folder of the installed Django's sdist, downloaded once."""
    version = django.get_version()
    folder = cache / f"django-{version}"
    if not (folder / "tests" / "runtests.py").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", f"Django=={version}", "--dest", str(cache)],
            check=True,
        )  # fmt: skip
        (sdist,) = cache.glob(f"[dD]jango-{version}.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(cache, filter="data")
    return folder / "tests"


def swap(tests: Path) -> None:
    """Point Django's tests at our classes; fail if a target is missing."""
    for name, theirs, ours in SWAPS:
        _replace(tests / name, {theirs: ours})
    quoted = {f'"{theirs}"': f'"{ours}"' for theirs, ours in MIDDLEWARE.items()}
    for name in MIDDLEWARE_FILES:
        _replace(tests / name, quoted, every=False)


def _replace(path: Path, replacements: dict[str, str], every: bool = True) -> None:
    text = path.read_text()
    found = [old for old in replacements if old in text]
    if not found or (every and len(found) < len(replacements)):
        raise SystemExit(f"{path}: none of {list(replacements)} found; update SWAPS.")
    for old in found:
        text = text.replace(old, replacements[old])
    path.write_text(text)


def main(labels: list[str]) -> int:
    cache = Path(os.environ.get("DJANGO_SDIST_CACHE", ROOT / ".tox" / "django-sdist"))
    with tempfile.TemporaryDirectory() as scratch:
        tests = Path(scratch) / "tests"
        shutil.copytree(django_tests(cache), tests)
        swap(tests)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        command = [sys.executable, "runtests.py", "--parallel", "1", "-v", "1"]
        return subprocess.run(
            [*command, *(labels or SUITES)], cwd=tests, env=env
        ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
