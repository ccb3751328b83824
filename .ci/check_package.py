#!/usr/bin/env python3
"""Build the sdist and the wheel and check them as a user would get them.

    python .ci/check_package.py      (tox -e package; needs build and twine)

Builds both into a temporary directory (the wheel from the sdist), runs
``twine check --strict``, checks what each archive holds and what the metadata
offers, then installs the wheel into a clean virtualenv, outside the source
tree: without extras every module imports except those that need one
(``async_auth_views.channels``, ``async_auth_views.rest_framework``), which
name the extra to install; with the extras, every module imports.
Exits non-zero with the list of what is wrong.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "async_auth_views"
# The extras users install (the project's own tools are dependency groups):
# the module that needs each, and the package it brings.
EXTRAS = {
    "channels": ("async_auth_views.channels", "channels"),
    "rest": ("async_auth_views.rest_framework", "rest_framework"),
}
# Extras that speed a path up rather than enable a module: nothing refuses
# without them (native mode and hiredis are used when installed).
OPTIONAL_EXTRAS = {"async-postgres", "redis"}
URLS = {"Source", "Issues", "Documentation", "Changelog"}
# Run in the clean virtualenv: import every module of the installed package.
IMPORT_ALL = """
import importlib, json, pkgutil, sys
import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "async_auth_views",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
django.setup()
import async_auth_views

result = {"file": async_auth_views.__file__, "imported": [], "failed": {}}
names = [async_auth_views.__name__] + [
    module.name
    for module in pkgutil.walk_packages(async_auth_views.__path__, "async_auth_views.")
]
for name in names:
    try:
        importlib.import_module(name)
    except ImportError as error:
        result["failed"][name] = f"{type(error).__name__}: {error}"
    else:
        result["imported"].append(name)
print(json.dumps(result))
"""


def run(*args: object, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def check_wheel(wheel: Path) -> list[str]:
    problems = []
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    dist_info = metadata_name.rsplit("/", 1)[0]
    for wanted in (f"{PACKAGE}/py.typed", f"{dist_info}/licenses/LICENSE"):
        if wanted not in names:
            problems.append(f"the wheel lacks {wanted}")
    strays = sorted(n for n in names if not n.startswith((f"{PACKAGE}/", dist_info)))
    if strays:
        problems.append(f"the wheel holds files outside the package: {strays}")
    if metadata["License-Expression"] != "BSD-3-Clause":
        problems.append(f"License-Expression is {metadata['License-Expression']!r}")
    extras = set(metadata.get_all("Provides-Extra") or [])
    if extras != set(EXTRAS) | OPTIONAL_EXTRAS:
        wanted = sorted(set(EXTRAS) | OPTIONAL_EXTRAS)
        problems.append(f"extras {sorted(extras)}, not {wanted}")
    urls = {u.split(",")[0] for u in metadata.get_all("Project-URL") or []}
    if not urls >= URLS:
        problems.append(f"project URLs missing: {sorted(URLS - urls)}")
    # Links relative to the repository break where the package index shows it.
    relative = re.findall(r"\]\((?!https?://|#)([^)]*)\)", metadata.get_payload())
    if relative:
        problems.append(f"the README's relative links: {relative}")
    return problems


def check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        top, *_ = archive.getnames()
        names = {n.removeprefix(f"{top}/") for n in archive.getnames()}
    problems = [
        f"the sdist lacks {wanted}"
        for wanted in ("LICENSE", "README.md", "pyproject.toml", f"{PACKAGE}/py.typed")
        if wanted not in names
    ]
    # Deliberately minimal: the tests run from a clone (see MANIFEST.in).
    if any(n.startswith("tests/") or n == "tests" for n in names):
        problems.append("the sdist holds test modules but not the suite they need")
    if any(n.startswith("devtools/") or n == "devtools" for n in names):
        problems.append("the sdist holds devtools/, the repository's own tools")
    return problems


def import_all(python: Path, where: Path) -> dict[str, Any]:
    """What importing every module of the installed package in ``python`` gave."""
    result: dict[str, Any] = json.loads(run(python, "-c", IMPORT_ALL, cwd=where))
    return result


def check_installed(wheel: Path, scratch: Path) -> list[str]:
    """Install the wheel without, then with, its extras; import everything."""
    problems = []
    env = scratch / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    found = import_all(python, scratch)
    if not str(found["file"]).startswith(str(env)):
        problems.append(f"imported {found['file']}, not the installed wheel")
    failed = dict(found["failed"])
    for extra, (module, package) in EXTRAS.items():
        missing = (
            f"ModuleNotFoundError: {module} needs {package}, which is not installed: "
            f'install the {extra} extra, pip install "async-auth-views[{extra}]".'
        )
        if failed.pop(module, None) != missing:
            problems.append(f"without its extra, {module} did not name {extra}")
        failed = {k: v for k, v in failed.items() if not k.startswith(f"{module}.")}
    if failed:
        problems.append(f"without extras, modules failed to import: {failed}")
    every = ",".join([*EXTRAS, *sorted(OPTIONAL_EXTRAS)])
    run(python, "-m", "pip", "install", "--quiet", f"{wheel}[{every}]")
    found = import_all(python, scratch)
    if found["failed"]:
        problems.append(f"with every extra, modules failed: {found['failed']}")
    print(f"imported from the wheel: {', '.join(found['imported'])}")
    return problems


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="check-package-") as tmp:
        scratch = Path(tmp)
        dist = scratch / "dist"
        run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
        (sdist,) = dist.glob("*.tar.gz")
        (wheel,) = dist.glob("*.whl")
        print(run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel))
        problems = check_sdist(sdist) + check_wheel(wheel)
        problems += check_installed(wheel, scratch)
    if problems:
        sys.exit("The package is not ready to publish:\n- " + "\n- ".join(problems))
    print(f"{sdist.name} and {wheel.name}: ready to publish.")


if __name__ == "__main__":
    main()
