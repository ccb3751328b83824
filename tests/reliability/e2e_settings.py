"""Settings of the server the reliability end-to-end tests start: the Channels
end-to-end settings, with the pages below and server errors logged to stderr."""

from tests.channels.e2e_settings import *  # noqa: F403

ROOT_URLCONF = "tests.reliability.e2e_urls"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "async_auth_views": {"handlers": ["stderr"], "level": "ERROR"},
    },
}
LOGIN_URL = "/login/"
