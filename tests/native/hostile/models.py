"""A user model that is unusual, and legal."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import (
    AbstractBaseUser,
    Group,
    PermissionsMixin,
    UserManager,
)
from django.db import models


class VisibleUsers(UserManager):  # type: ignore[type-arg]
    """The default manager hides soft-deleted accounts, as Django's backend then does."""

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(deleted=False)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    username = models.CharField(max_length=150, unique=True)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    expires = models.DateTimeField(null=True, blank=True)
    groups = models.ManyToManyField(  # type: ignore[assignment]
        Group,
        through="Membership",
        blank=True,
        related_name="hostile_users",
        related_query_name="hostile_user",
    )

    objects = VisibleUsers()
    everyone = models.Manager()

    USERNAME_FIELD = "username"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    since = models.DateTimeField(auto_now_add=True)


class Lockout(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE)
