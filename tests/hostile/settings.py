"""The hostile-but-legal project's settings: the suite's own, with the user
model, the app and the backends of ``tests.hostile``."""

from tests import hostile
from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

AUTH_USER_MODEL = hostile.AUTH_USER_MODEL
INSTALLED_APPS = hostile.installed_apps(INSTALLED_APPS)
AUTHENTICATION_BACKENDS = hostile.AUTHENTICATION_BACKENDS
