"""The ASGI application that ``python3 run.py demo`` serves with uvicorn.

HTTP goes to Django; WebSockets go through the library's ``AuthMiddlewareStack``
(cookies, session, the same user resolution as HTTP) behind Channels' origin
check.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_site.settings")
django_application = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from async_auth_views.channels import AuthMiddlewareStack  # noqa: E402
from demo.consumers import LivePanel  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/live/", LivePanel.as_asgi())]))
        ),
    }
)
