"""Proxies and multi-table children of User, Group and Permission.

Django sends their signals with the proxy or the child as ``sender``; the
identity cache and open sockets must react to them as to the models themselves.
"""

from django.contrib.auth.models import Group, Permission, User
from django.db import models


class ProxyUser(User):
    class Meta:
        proxy = True


class Employee(User):
    """A multi-table child of User: a row of its own, and the user's row as parent."""

    badge = models.CharField(max_length=20, blank=True)


class ProxyGroup(Group):
    class Meta:
        proxy = True


class Team(Group):
    """A multi-table child of Group."""

    motto = models.CharField(max_length=50, blank=True)


class ProxyPermission(Permission):
    class Meta:
        proxy = True
