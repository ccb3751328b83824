"""A project that uses every part of the library but left ``"async_auth_views"``
out of ``INSTALLED_APPS``: the identity cache, the middleware, Channels with a
layer. The library must refuse to run in it, naming the fix."""

from tests.projects.base import *  # noqa: F403
from tests.projects.base import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "async_auth_views"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ASYNC_AUTH_IDENTITY_CACHE = "default"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
ASGI_APPLICATION = "tests.projects.asgi.application"
