from django.apps import AppConfig


class HostileConfig(AppConfig):
    name = "tests.native.hostile"
    label = "hostile"
    default_auto_field = "django.db.models.AutoField"
