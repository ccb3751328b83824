"""Settings for the test suite: SQLite (or PostgreSQL), database sessions, ModelBackend.

``ASYNC_AUTH_TEST_DATABASE_URL`` (see ``devtools/databases.py``) runs the suite on
that PostgreSQL database, with psycopg 3, instead of SQLite in memory.
"""

from devtools.databases import django_database, is_async_engine, suite_database_url

SECRET_KEY = "tests-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "guardian",
    # django-otp, a middleware that re-wraps request.user after ours.
    "django_otp",
    "django_otp.plugins.otp_static",
    "async_auth_views",
    "tests",
    "tests.kin",
    "tests.docs_app",  # the models of the docs' examples (tests/test_docs.py)
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "async_auth_views.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

if DATABASE_URL := suite_database_url():
    DATABASES = {"default": django_database(DATABASE_URL)}
    if is_async_engine(DATABASE_URL):
        # django-async-backend's app, as its users install it (native mode).
        INSTALLED_APPS.append("django_async_backend")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {"NAME": None},
        }
    }

ROOT_URLCONF = "tests.urls"
LOGIN_URL = "/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# django-guardian, for object permissions; no anonymous user row.
ANONYMOUS_USER_NAME = None

CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
