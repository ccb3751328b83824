"""Migrate, switch SQLite to WAL, create a user with the two permissions; print a session key.

Run as ``python -m project.setup_db`` with ``BENCH_DB`` (SQLite) or
``BENCH_DATABASE_URL`` (PostgreSQL) set.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from project.views import PERMISSIONS  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # WAL is a property of the file: it persists for every later connection.
            cursor.execute("PRAGMA journal_mode=WAL")
            mode = cursor.fetchone()[0]
        if mode != "wal":
            raise SystemExit(f"SQLite refused WAL mode (got {mode!r}).")
    user = User.objects.create_user("bench", password="bench")
    for perm in PERMISSIONS:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    print(client.cookies[settings.SESSION_COOKIE_NAME].value)


if __name__ == "__main__":
    main()
