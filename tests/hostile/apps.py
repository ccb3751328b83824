from django.apps import AppConfig


class HostileConfig(AppConfig):
    name = "tests.hostile"
    label = "hostile"
    default_auto_field = "django.db.models.AutoField"
