"""A module that needs an extra, imported without it: an error that says which
extra to install. Each case runs in a fresh interpreter whose imports of the
extra's package fail, as they do where the extra was not installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from async_auth_views.extras import require_extra

ROOT = Path(__file__).resolve().parents[1]

WITHOUT = """
import sys


class Missing:
    # A meta path finder that finds no module named {package!r}.
    def find_spec(self, name, path=None, target=None):
        if name == {package!r} or name.startswith({package!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Missing())
import django
from django.conf import settings

settings.configure()
django.setup()
try:
    import {module}
except ImportError as error:
    print(type(error).__name__, error.name, str(error), sep="|")
else:
    print("imported")
"""


@pytest.mark.parametrize(
    ("module", "package", "extra"),
    [
        ("async_auth_views.channels", "channels", "channels"),
        ("async_auth_views.rest_framework", "rest_framework", "rest"),
    ],
)
def test_import_without_the_extra_names_it(
    module: str, package: str, extra: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT.format(module=module, package=package)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    kind, name, message = result.stdout.strip().split("|")
    assert (kind, name) == ("ModuleNotFoundError", package)
    assert message == (
        f"{module} needs {package}, which is not installed: install the "
        f'{extra} extra, pip install "async-auth-views[{extra}]".'
    )


def test_a_missing_dependency_of_an_installed_extra_is_not_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The extra is installed but breaks on import: its own error, unchanged."""
    (tmp_path / "installed_but_broken.py").write_text("import no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as raised:
        require_extra("installed_but_broken", "broken", "async_auth_views.example")
    assert raised.value.name == "no_such_dependency"
    assert "extra" not in str(raised.value)
