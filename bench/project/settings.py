"""Settings of every benchmark server; environment variables set them apart.

Every variant runs on the same ``MIDDLEWARE``: ``project.middleware`` routes
each request through its variant's own session and authentication middleware.
What is process-wide comes from the environment ``bench/run.py`` gives each
server:

- ``BENCH_DATABASE_URL``: a ``postgresql://`` URL, served by psycopg 3;
  unset, ``BENCH_DB`` is the SQLite file (put in WAL mode once by
  ``project.setup_db``).
- ``BENCH_DB_POOL=1``: Django's psycopg connection pool (``OPTIONS: {"pool":
  True}``, its default sizes), PostgreSQL only.
- ``BENCH_DB_ENGINE=async``: django-async-backend's engine on that database
  (native mode, ``docs/native.rst``); with ``BENCH_DB_POOL=1``, its pool.
- ``BENCH_IDENTITY_CACHE``: ``locmem`` or ``redis`` adds
  ``ASYNC_AUTH_IDENTITY_CACHE`` naming a ``LocMemCache``, or a ``RedisCache``
  on ``BENCH_REDIS_URL``.
"""

from __future__ import annotations

import os
from typing import Any

from devtools.databases import ASYNC_ENGINE, django_database

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


def _database() -> dict[str, Any]:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_DB", "/tmp/async-auth-views-bench.sqlite3"),
            "CONN_MAX_AGE": 0,
            "OPTIONS": {"timeout": 20},
        }
    pool = os.environ.get("BENCH_DB_POOL") == "1"
    database = {**django_database(url), "CONN_MAX_AGE": 0, "OPTIONS": {"pool": pool}}
    if ASYNC_ENGINE_ON:
        database["ENGINE"] = ASYNC_ENGINE
    return database


ASYNC_ENGINE_ON = os.environ.get("BENCH_DB_ENGINE") == "async"
DATABASES = {"default": _database()}
if ASYNC_ENGINE_ON:
    INSTALLED_APPS.append("django_async_backend")
SESSION_ENGINE = "django.contrib.sessions.backends.db"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/login/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_IDENTITY_CACHES: dict[str, dict[str, Any]] = {
    "locmem": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "async-auth-views-identity",
    },
    "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("BENCH_REDIS_URL", ""),
    },
}
_identity_cache = os.environ.get("BENCH_IDENTITY_CACHE")
if _identity_cache:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "identity": _IDENTITY_CACHES[_identity_cache],
    }
    ASYNC_AUTH_IDENTITY_CACHE = "identity"
