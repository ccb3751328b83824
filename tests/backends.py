"""Authentication backends as projects write them, for both projects of the suite.

Each refusal is Django's documented hook, and none of them writes the user's
row when it starts refusing: no signal tells the library, so an identity-cache
hit must ask the backend again, as Django's ``get_user()`` would.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.cache import caches
from django.utils import timezone

from tests.models import Article, Lockout


class ExpiringBackend(ModelBackend):
    """Accounts expire ``lifetime`` after they joined: ``user_can_authenticate()``
    refuses them from then on, with no query."""

    lifetime = timedelta(days=30)

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(super().user_can_authenticate(user)) and (
            timezone.now() < user.date_joined + self.lifetime
        )


class LockoutBackend(ModelBackend):
    """``user_can_authenticate()`` refuses users with a ``Lockout`` row: a query,
    which may not run in the event loop."""

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(super().user_can_authenticate(user)) and (
            not Lockout.objects.filter(username=user.get_username()).exists()
        )


def suspend(user: Any) -> None:
    """Suspend ``user`` where ``SuspendingBackend.get_user()`` looks."""
    caches["default"].set(_suspended_key(user.pk), True)


def _suspended_key(user_id: Any) -> str:
    return f"tests.suspended.{user_id}"


class SuspendingBackend(ExpiringBackend):
    """The hostile project's backend: ``get_user()`` and ``aget_user()`` refuse
    users suspended by a flag in the default cache (no row changes), and
    accounts expire as in ``ExpiringBackend``."""

    def get_user(self, user_id: Any) -> Any:
        if caches["default"].get(_suspended_key(user_id)):
            return None
        return super().get_user(user_id)

    async def aget_user(self, user_id: Any) -> Any:
        if await caches["default"].aget(_suspended_key(user_id)):
            return None
        return await super().aget_user(user_id)


class OwnerBackend:
    """A sync-only object-permission backend with no ``BaseBackend`` parent:
    the owner of an article may change it."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> None:
        return None

    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        return (
            perm == "tests.change_article"
            and isinstance(obj, Article)
            and Article.objects.filter(pk=obj.pk, owner=user.get_username()).exists()
        )
