"""Backends the native-mode tests log users in with."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class OwnGetUser(ModelBackend):
    """A backend with its own ``get_user()``: native mode must not reproduce it."""

    def get_user(self, user_id: Any) -> Any:
        return super().get_user(user_id)
