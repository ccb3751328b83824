"""Settings for the Channels end-to-end tests: servers and test share one database.

``E2E_DATABASE_URL`` names a PostgreSQL database (where the suite runs on
PostgreSQL), else ``E2E_DB_PATH`` names a SQLite file; ``E2E_REDIS_URL``, when set, makes the
channel layer channels_redis (for the cross-process test) instead of in-memory,
and ``E2E_IDENTITY_CACHE=1`` with it turns on the identity cache, in Redis.
"""

import os

from devtools.databases import django_database

SECRET_KEY = "channels-e2e-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "async_auth_views",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "async_auth_views.middleware.AuthenticationMiddleware",
]

if os.environ.get("E2E_DATABASE_URL"):
    DATABASES = {"default": django_database(os.environ["E2E_DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("E2E_DB_PATH", "e2e.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    }

ROOT_URLCONF = "tests.channels.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

if os.environ.get("E2E_REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Longer than channels_redis's 5 s blocking read (see the docs).
            "CONFIG": {
                "hosts": [
                    {"address": os.environ["E2E_REDIS_URL"], "socket_timeout": 15}
                ]
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

if os.environ.get("E2E_IDENTITY_CACHE"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["E2E_REDIS_URL"],
        }
    }
    ASYNC_AUTH_IDENTITY_CACHE = "default"
