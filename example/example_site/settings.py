"""Settings for the example site: a local demo, not a deployment.

By default it runs on one machine: SQLite and the in-memory channel layer.
Environment variables switch it to the setup of ``python3 run.py scale``:

- ``EXAMPLE_DB_PATH``: where the SQLite database lives (the end-to-end tests
  use a temporary file); ``example/db.sqlite3`` by default.
- ``EXAMPLE_DATABASE_URL``: ``postgresql://user[:password]@host:port/name``
  uses PostgreSQL instead of SQLite (needs ``psycopg``).
- ``EXAMPLE_REDIS_URL``: ``redis://host:port/db`` uses ``channels_redis``, so
  that several server processes share revocations.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "example-site-insecure-key-for-local-demo-only"
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "guardian",
    "async_auth_views",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Replaces django.contrib.sessions.middleware.SessionMiddleware.
    "async_auth_views.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Replaces django.contrib.auth.middleware.AuthenticationMiddleware.
    "async_auth_views.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_site.urls"
ASGI_APPLICATION = "example_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]


def postgresql(url: str) -> dict[str, object]:
    """The ``DATABASES`` entry for a ``postgresql://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        raise ValueError(
            f"EXAMPLE_DATABASE_URL must look like "
            f"postgresql://user@127.0.0.1:5432/name, not {url!r}."
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.strip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


if database_url := os.environ.get("EXAMPLE_DATABASE_URL"):
    DATABASES = {"default": postgresql(database_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("EXAMPLE_DB_PATH") or BASE_DIR / "db.sqlite3",
        }
    }

# The object-permission page asks django-guardian about single books.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # no guardian row for anonymous visitors

# A form posted with a stale CSRF token gets the demo's page, not Django's debug page.
CSRF_FAILURE_VIEW = "demo.views.csrf_failure"

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's console logging, with refused requests on one line each.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden": {"()": "example_site.log.ForbiddenWithoutTraceback"}},
    "loggers": {"django.request": {"filters": ["forbidden"]}},
}

# The live panel's revocations travel through the channel layer: in memory for
# one process, Redis for several.
if redis_url := os.environ.get("EXAMPLE_REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket_timeout by default, as long
            # as channels_redis's blocking pop waits: consumers then die with
            # TimeoutError every few seconds. Read for longer than the pop.
            "CONFIG": {"hosts": [{"address": redis_url, "socket_timeout": 15}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
