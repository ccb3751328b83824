"""Settings of both benchmark servers; ``BENCH_IDENTITY_CACHE=1`` is the only difference.

Every variant runs on the same ``MIDDLEWARE``: ``project.middleware`` routes
each request through its variant's own session and authentication middleware. The identity
cache is a process-wide setting, so the server that measures it sets
``BENCH_IDENTITY_CACHE=1``, which adds ``ASYNC_AUTH_IDENTITY_CACHE`` naming a
``LocMemCache``. ``BENCH_DB`` is the SQLite file (put in WAL mode once by
``project.setup_db``).
"""

from __future__ import annotations

import os

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "async_auth_views",
]
MIDDLEWARE = ["project.middleware.variant_middleware"]
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
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("BENCH_IDENTITY_CACHE") == "1":
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "identity": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "async-auth-views-identity",
        },
    }
    ASYNC_AUTH_IDENTITY_CACHE = "identity"
