"""The hostile project's settings: the suite's, with its own user model and backends."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [
    *(app for app in INSTALLED_APPS if app not in {"tests", "tests.kin", "guardian"}),
    "tests.native.hostile",
]
AUTH_USER_MODEL = "hostile.User"
AUTHENTICATION_BACKENDS = [
    "tests.native.hostile.backends.ExpiringBackend",
    "tests.native.hostile.backends.LockoutBackend",
]
ROOT_URLCONF = "tests.native.views"
