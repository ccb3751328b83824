"""``async_auth_views.channels`` without Channels installed: an error that says
which extra to install. Run in a fresh interpreter whose imports of
``channels`` fail, as they do where the extra was not installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_CHANNELS = """
import sys


class NoChannels:
    # A meta path finder that finds no module named channels.
    def find_spec(self, name, path=None, target=None):
        if name == "channels" or name.startswith("channels."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoChannels())
try:
    import async_auth_views.channels
except ImportError as error:
    print(type(error).__name__, error.name, str(error), sep="|")
else:
    print("imported")
"""


def test_import_without_channels_names_the_extra_to_install() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_CHANNELS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    kind, name, message = result.stdout.strip().split("|")
    assert (kind, name) == ("ModuleNotFoundError", "channels")
    assert message == (
        "async_auth_views.channels needs Channels, which is not installed: "
        'install the channels extra, pip install "async-auth-views[channels]".'
    )
