"""The ASGI application of the reliability end-to-end tests, set up as the docs say:
``AllowedHostsOriginValidator`` outermost, then ``AuthMiddlewareStack``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.reliability.e2e_settings")
django_asgi_app = get_asgi_application()

# Consumers import auth models: after Django is set up.
from typing import Any  # noqa: E402

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from async_auth_views.channels import AuthMiddlewareStack, LoginRequiredMixin  # noqa: E402


class UserChannel(LoginRequiredMixin, AsyncWebsocketConsumer):
    """Each of a user's sockets gets what any of them sends, named by the sender's
    ``scope["user"]``: a socket holding the wrong user would hear the wrong group."""

    group = ""

    async def connect(self) -> None:
        self.group = f"reliability.user.{self.scope['user'].pk}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=f"hello {self.scope['user'].get_username()}")

    async def disconnect(self, code: Any) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: Any = None, bytes_data: Any = None) -> None:
        text = f"{self.scope['user'].get_username()}:{text_data}"
        await self.channel_layer.group_send(
            self.group, {"type": "user.message", "text": text}
        )

    async def user_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/user/", UserChannel.as_asgi())]))
        ),
    }
)
