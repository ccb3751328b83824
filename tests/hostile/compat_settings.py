"""The hostile-but-legal project with the compatibility suite's packages
(``tox -e compat``), for the DRF tests."""

from tests import hostile
from tests.compat.settings import *  # noqa: F403
from tests.compat.settings import AUTHENTICATION_BACKENDS, INSTALLED_APPS

AUTH_USER_MODEL = hostile.AUTH_USER_MODEL
INSTALLED_APPS = hostile.installed_apps(INSTALLED_APPS)
AUTHENTICATION_BACKENDS = [
    *hostile.AUTHENTICATION_BACKENDS,
    *(b for b in AUTHENTICATION_BACKENDS if not b.endswith(".ModelBackend")),
]
