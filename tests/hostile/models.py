"""The hostile project's user model, its explicit relations, and kin of it,
of ``Group`` and of ``Permission`` (as ``tests.kin`` has for the stock ``User``)."""

import uuid

from django.contrib.auth.models import AbstractUser, Group, Permission, UserManager
from django.db import models
from django.utils import timezone


class MemberManager(UserManager["Member"]):
    """The default manager: removed members are not found (a soft delete), so
    ``ModelBackend.get_user()`` does not find them either."""

    def get_queryset(self) -> models.QuerySet["Member"]:
        return super().get_queryset().filter(is_removed=False)


class Member(AbstractUser):
    """A user with a UUID primary key whose groups and permissions go through
    models of their own."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    is_removed = models.BooleanField(default=False)
    groups = models.ManyToManyField(
        Group,
        through="Membership",
        blank=True,
        related_name="user_set",
        related_query_name="user",
    )
    user_permissions = models.ManyToManyField(
        Permission,
        through="Grant",
        blank=True,
        related_name="user_set",
        related_query_name="user",
    )

    # Declared first, so it is the default manager; objects finds everyone.
    members = MemberManager()
    objects = UserManager()


class Membership(models.Model):
    user = models.ForeignKey(Member, on_delete=models.CASCADE)
    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        unique_together = (("user", "group"),)


class Grant(models.Model):
    user = models.ForeignKey(Member, on_delete=models.CASCADE)
    permission = models.ForeignKey(Permission, on_delete=models.CASCADE)
    granted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        unique_together = (("user", "permission"),)


class ProxyUser(Member):
    class Meta:
        proxy = True


class Employee(Member):
    """A multi-table child of the user model."""

    user_ptr = models.OneToOneField(
        Member, on_delete=models.CASCADE, parent_link=True, primary_key=True
    )
    badge = models.CharField(max_length=20, blank=True)


class ProxyGroup(Group):
    class Meta:
        proxy = True


class Team(Group):
    motto = models.CharField(max_length=50, blank=True)


class ProxyPermission(Permission):
    class Meta:
        proxy = True


class ProxyMembership(Membership):
    """Rows of the membership table, saved or deleted through a proxy."""

    class Meta:
        proxy = True
