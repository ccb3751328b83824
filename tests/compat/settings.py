"""Settings for the compatibility suite (``tox -e compat``): the test suite's
settings plus the packages our users run beside us, each as its docs install it.

The suite runs in its own process with ``--ds=tests.compat.settings``; under
the main suite's settings ``tests/compat/conftest.py`` leaves it uncollected.
"""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS, MIDDLEWARE

# django-otp is in the main suite's settings already (tests/test_middleware_extension.py).
INSTALLED_APPS = [
    *INSTALLED_APPS,
    "rules",
    "allauth",
    "allauth.account",
    "rest_framework",
]

# allauth refuses to start without its middleware; it goes after ours. The
# tests of django-otp add OTPMiddleware right after ours, as its docs say.
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]

# Every backend that decides permissions, each as its docs install it.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
    "rules.permissions.ObjectPermissionBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_RATE_LIMITS = False
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
}
