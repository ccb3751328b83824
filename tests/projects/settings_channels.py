"""A Channels project whose sockets are protected by the library, with no
channel layer configured: ``ASGI_APPLICATION`` names its application, as
daphne's ``runserver`` needs."""

from tests.projects.base import *  # noqa: F403

ASGI_APPLICATION = "tests.projects.asgi.application"
