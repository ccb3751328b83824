"""Create (or reset) the two demo users and print how to log in as them."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from guardian.shortcuts import assign_perm, remove_perm

from demo.models import Book

# (username, password, holds demo.read_secret, the one book they may edit)
DEMO_USERS = [
    ("alice", "alice-demo-pass", True, "Dune"),
    ("bob", "bob-demo-pass", False, "Neuromancer"),
]


class Command(BaseCommand):
    help = "Create the demo users alice and bob (idempotent) and print their passwords."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        read_secret = Permission.objects.get(
            content_type__app_label="demo", codename="read_secret"
        )
        self.stdout.write("Demo users:")
        books = list(Book.objects.all())
        for username, password, can_read_secret, editable in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_active = True
            user.save()
            if can_read_secret:
                user.user_permissions.add(read_secret)
                note = "may read /secret/"
            else:
                user.user_permissions.remove(read_secret)
                note = "gets a 403 on /secret/"
            # An object permission, through django-guardian: one book each.
            for book in books:
                if book.title == editable:
                    assign_perm("demo.change_book", user, book)
                else:
                    remove_perm("demo.change_book", user, book)
            note += f", may edit {editable}"
            self.stdout.write(
                f"  username {username:<6} password {password:<16} {note}"
            )
        port = os.environ.get("PORT", "8000")
        self.stdout.write(f"Log in at http://127.0.0.1:{port}/login/")
