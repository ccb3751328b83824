import importlib.util

from django.apps import AppConfig
from django.test.signals import setting_changed


class AsyncAuthViewsConfig(AppConfig):
    """Registers the system checks and the receivers that keep caches and sockets honest."""

    name = "async_auth_views"
    verbose_name = "Async auth views"

    def ready(self) -> None:
        from . import (
            changes,
            checks,  # noqa: F401  (registers the checks)
        )

        if importlib.util.find_spec("channels") is not None:
            # Makes the sockets react to changes, as the identity cache does.
            from .channels import revocation  # noqa: F401
        if changes.wanted():
            changes.connect_receivers()
        setting_changed.connect(
            changes.connect_when_enabled, dispatch_uid=f"{__name__}.changes"
        )
