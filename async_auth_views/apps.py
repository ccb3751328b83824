from django.apps import AppConfig


class AsyncAuthViewsConfig(AppConfig):
    """Registers the system checks that catch a misordered MIDDLEWARE."""

    name = "async_auth_views"
    verbose_name = "Async auth views"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
