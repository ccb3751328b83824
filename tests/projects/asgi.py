"""The ASGI application of the Channels projects here, set up as the docs say."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.projects.settings_channels")
django_asgi_app = get_asgi_application()

# Consumers import auth models: after Django is set up.
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from async_auth_views.channels import AuthMiddlewareStack, LoginRequiredMixin  # noqa: E402


class EchoConsumer(LoginRequiredMixin, AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=f"{self.scope['user'].get_username()}: {text_data}")


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/echo/", EchoConsumer.as_asgi())]))
        ),
    }
)
