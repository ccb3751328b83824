"""``settings_no_app`` with the app installed, as the docs say: the control."""

from tests.projects.settings_no_app import *  # noqa: F403
from tests.projects.settings_no_app import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "async_auth_views"]
