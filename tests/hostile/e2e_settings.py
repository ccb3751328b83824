"""The Channels end-to-end servers' settings on the hostile-but-legal project
(``devtools.channels_e2e`` picks them when the suite runs on it)."""

from tests import hostile
from tests.channels.e2e_settings import *  # noqa: F403
from tests.channels.e2e_settings import INSTALLED_APPS

AUTH_USER_MODEL = hostile.AUTH_USER_MODEL
# "tests" for the models tests.backends imports.
INSTALLED_APPS = hostile.installed_apps([*INSTALLED_APPS, "tests"])
AUTHENTICATION_BACKENDS = hostile.AUTHENTICATION_BACKENDS
