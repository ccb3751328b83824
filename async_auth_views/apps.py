import importlib.util

from django.apps import AppConfig
from django.conf import settings
from django.test.signals import setting_changed


class AsyncAuthViewsConfig(AppConfig):
    """Registers the system checks and the receivers that keep caches and sockets honest."""

    name = "async_auth_views"
    verbose_name = "Async auth views"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the checks)
            identity,
        )

        if getattr(settings, "ASYNC_AUTH_IDENTITY_CACHE", None) is not None:
            identity.connect_receivers()
        setting_changed.connect(
            identity.connect_when_enabled, dispatch_uid=f"{__name__}.identity"
        )
        if importlib.util.find_spec("channels") is not None:
            # Connects the receivers that close sockets whose session ended.
            from .channels import revocation  # noqa: F401
