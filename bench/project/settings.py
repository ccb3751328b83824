"""Settings shared by both benchmark servers; ``BENCH_AUTH`` picks the auth middleware.

``BENCH_AUTH=django`` serves Django's stock variants behind Django's
``AuthenticationMiddleware``; ``BENCH_AUTH=ours`` serves this library's variant
behind its own. Everything else is identical. ``BENCH_DB`` is the SQLite file
(put in WAL mode once by ``project.setup_db``).
"""

from __future__ import annotations

import os

AUTH_MIDDLEWARE = {
    "django": "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ours": "async_auth_views.middleware.AuthenticationMiddleware",
}
AUTH = os.environ.get("BENCH_AUTH", "django")

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "async_auth_views",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    AUTH_MIDDLEWARE[AUTH],
]
ROOT_URLCONF = "project.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB", "/tmp/async-auth-views-bench.sqlite3"),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"timeout": 20},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/login/"
# The ceiling does no auth at all: our middleware leaves its user lazy (unread).
ASYNC_AUTH_LAZY_PATHS = [r"^/ceiling/"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
