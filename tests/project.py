"""The project a test runs on: Django's stock ``User`` (``tests.settings``) or the
hostile-but-legal one (``tests.hostile.settings``).

The identity, changes, rules, consumer and DRF tests run on both, so they take
from here the user model, its kin (a proxy and a multi-table child, and those
of ``Group`` and ``Permission``) and the permissions they grant, and assume
neither an integer primary key nor the stock ``User``. (``User.objects`` is a
``UserManager`` on both; the hostile project's default manager is another.)
"""

from __future__ import annotations

import uuid
from typing import Any
from unittest import skipIf

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

User: Any = get_user_model()
#: Whether this is the hostile project's run.
HOSTILE = settings.AUTH_USER_MODEL == "hostile.Member"

if HOSTILE:
    from tests.hostile.models import (
        Employee,
        ProxyGroup,
        ProxyPermission,
        ProxyUser,
        Team,
    )
else:
    from tests.kin.models import Employee, ProxyGroup, ProxyPermission, ProxyUser, Team


def user_perm(action: str) -> str:
    """The name of the user model's ``action`` permission ("auth.add_user" on
    the stock project, "hostile.add_member" on the hostile one)."""
    return f"{User._meta.app_label}.{action}_{User._meta.model_name}"


def user_perm_lookup(action: str) -> dict[str, str]:
    """``Permission.objects.get(**user_perm_lookup(action))`` finds its row."""
    return {
        "content_type__app_label": User._meta.app_label,
        "codename": f"{action}_{User._meta.model_name}",
    }


def user_permission(action: str) -> Permission:
    """The ``Permission`` row of ``user_perm(action)``."""
    return Permission.objects.get(**user_perm_lookup(action))


#: The backend the project logs users in with (``force_login()``'s): tests
#: that set ``AUTHENTICATION_BACKENDS`` keep it, or its sessions would name a
#: backend no longer configured.
LOGIN_BACKEND: str = settings.AUTHENTICATION_BACKENDS[0]

#: The permission most tests grant and check.
ADD_USER = user_perm("add")


#: Whether ``user.groups`` and ``user.user_permissions`` go through models of
#: the project's own, whose rows Django signals when they are saved or deleted
#: (it sends no signal for the rows of an auto-created table).
EXPLICIT_THROUGH: bool = not User.groups.through._meta.auto_created
explicit_through_only = skipIf(
    not EXPLICIT_THROUGH, "Django sends no signal for an auto-created table's rows"
)
auto_through_only = skipIf(
    EXPLICIT_THROUGH, "Django signals the rows of an explicit through model"
)

#: A test that asserts the stock project's figures (statements, thread hops),
#: which another project's backends change.
stock_only = skipIf(HOSTILE, "counts what the stock project's backends cost")

__all__ = [
    "ADD_USER",
    "EXPLICIT_THROUGH",
    "HOSTILE",
    "LOGIN_BACKEND",
    "Employee",
    "ProxyGroup",
    "ProxyPermission",
    "ProxyUser",
    "Team",
    "User",
    "add_user_permission",
    "auto_through_only",
    "explicit_through_only",
    "pk_forms",
    "stock_only",
    "user_perm",
    "user_perm_lookup",
    "user_permission",
]


def add_user_permission() -> Permission:
    """The ``Permission`` row of ``ADD_USER``."""
    return user_permission("add")


def pk_forms(user: Any) -> list[Any]:
    """``user``'s primary key in every form its field accepts: as stored, as the
    session keeps it, and for a UUID in capitals, as bare hex and in braces."""
    pk = user.pk
    forms = [pk, str(pk)]
    if isinstance(pk, uuid.UUID):
        forms += [str(pk).upper(), pk.hex, pk.hex.upper(), f"{{{pk}}}"]
    return forms
