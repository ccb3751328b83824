import importlib.util

from django.apps import AppConfig
from django.test.signals import setting_changed


class AsyncAuthViewsConfig(AppConfig):
    """Registers the system checks and the receivers that keep caches and sockets honest.

    Whatever the library needs registered is registered here, the only place
    that runs in every process (servers, workers, management commands); every
    door refuses to run in a process where it did not (``conf.require_app()``).
    """

    name = "async_auth_views"
    verbose_name = "Async auth views"

    def ready(self) -> None:
        from . import (
            changes,
            checks,  # noqa: F401  (registers the checks)
            conf,
        )

        if importlib.util.find_spec("channels") is not None:
            # Makes the sockets react to changes, as the identity cache does.
            from .channels import revocation  # noqa: F401
        if changes.wanted():
            changes.connect_receivers()
        setting_changed.connect(
            changes.connect_when_enabled, dispatch_uid=f"{__name__}.changes"
        )
        conf.app_ready()
