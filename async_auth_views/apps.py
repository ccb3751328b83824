import importlib.util

from django.apps import AppConfig


class AsyncAuthViewsConfig(AppConfig):
    """Registers the system checks and, with Channels, the revocation receivers."""

    name = "async_auth_views"
    verbose_name = "Async auth views"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)

        if importlib.util.find_spec("channels") is not None:
            # Connects the receivers that close sockets whose session ended.
            from .channels import revocation  # noqa: F401
