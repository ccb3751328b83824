"""Sphinx configuration for the async_auth_views documentation."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# autodoc imports the package, whose modules import Django's auth models:
# Django must be configured first.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import async_auth_views  # noqa: E402

project = "async_auth_views"
author = "async_auth_views contributors"
copyright = "async_auth_views contributors"
release = async_auth_views.__version__
version = release

extensions = ["sphinx.ext.autodoc"]

autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"

exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"async_auth_views {release}"
