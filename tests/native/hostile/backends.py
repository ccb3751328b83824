"""Backends whose ``user_can_authenticate()`` is their own (Django's documented hook)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone


class ExpiringBackend(ModelBackend):
    """Refuses accounts past their expiry: decided from the row, on the event loop."""

    def user_can_authenticate(self, user: Any) -> bool:
        expires = getattr(user, "expires", None)
        return bool(
            super().user_can_authenticate(user)
            and (expires is None or expires > timezone.now())
        )


class LockoutBackend(ModelBackend):
    """Refuses locked-out accounts: asks the database with the sync ORM, so
    native mode takes the thread hop for it."""

    def user_can_authenticate(self, user: Any) -> bool:
        from .models import Lockout

        return bool(
            super().user_can_authenticate(user)
            and not Lockout.objects.filter(user=user).exists()
        )
