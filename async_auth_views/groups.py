"""Group membership, read without a query once the user's group names are loaded.

``load_group_names()`` reads the names of the user's groups in one statement;
the middleware calls it in the thread hop that loads the user for a view that
declares ``preload_groups`` (as ``GroupRequiredMixin`` does), so the check
itself costs nothing. Groups fetched with ``prefetch_related("groups")`` count
as loaded too.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.db import router

from .native import Hop, Runner, arun_native, statements

if TYPE_CHECKING:
    from ._types import UserType

#: The attribute that holds the loaded names on the user (kept by the identity cache).
GROUP_NAMES = "_async_auth_group_names"


def _decided_without_groups(user: UserType) -> bool | None:
    """True or False when membership does not matter; None when it decides."""
    if not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return None


def loaded_group_names(user: UserType) -> frozenset[str] | None:
    """The user's group names if they are in memory, else None."""
    names: frozenset[str] | None = getattr(user, GROUP_NAMES, None)
    if names is not None:
        return names
    prefetched = getattr(user, "_prefetched_objects_cache", {}).get("groups")
    if prefetched is not None:
        return frozenset(group.name for group in prefetched)
    return None


def wants_group_names(user: UserType) -> bool:
    """Whether ``load_group_names()`` would read the names of ``user``'s groups."""
    return _decided_without_groups(user) is None and loaded_group_names(user) is None


def load_group_names(user: UserType) -> None:
    """Read the names of ``user``'s groups in one statement, unless nothing needs them."""
    if not wants_group_names(user):
        return
    if not hasattr(user, "groups"):
        raise ImproperlyConfigured(
            f"{user.__class__.__name__} has no groups: group membership needs a "
            "user model with django.contrib.auth.models.PermissionsMixin (or a "
            "'groups' many-to-many field to auth.Group)."
        )
    holder: Any = user
    names = frozenset(holder.groups.values_list("name", flat=True))
    setattr(user, GROUP_NAMES, names)


async def afill_group_names(user: UserType, runner: Runner, using: str) -> None:
    """``load_group_names()`` on ``runner``, a native connection to ``using``."""
    model: Any = user.__class__
    if not hasattr(user, "groups"):
        raise Hop  # The hop raises the error that says what is missing.
    group_model = model._meta.get_field("groups").related_model
    if router.db_for_read(group_model, instance=user) != using:
        raise Hop
    statement = statements.group_names(model, using)
    if statement is None:
        raise Hop
    params = statement.bind(runner.wrapper, user.pk)
    rows = await runner.fetch(statement.sql, params)
    setattr(user, GROUP_NAMES, frozenset(statements.first_column(statement, rows)))


async def _aload_group_names_natively(user: UserType) -> bool:
    """``load_group_names()`` with no thread hop; False when it must run in
    the hop instead (not native mode, see ``native.arun_native()``)."""
    if not wants_group_names(user):
        return True
    if not hasattr(user, "groups"):
        return False  # The hop raises the error that says what is missing.
    model: Any = user.__class__
    group_model = model._meta.get_field("groups").related_model
    using = router.db_for_read(group_model, instance=user)
    return await arun_native(using, partial(afill_group_names, user, using=using))


def in_any_group(user: UserType, names: Iterable[str]) -> bool:
    """Whether ``user`` belongs to at least one of ``names``; active superusers always do."""
    decided = _decided_without_groups(user)
    if decided is not None:
        return decided
    load_group_names(user)
    return not (loaded_group_names(user) or frozenset()).isdisjoint(names)


async def ain_any_group(user: UserType, names: Iterable[str]) -> bool:
    """See in_any_group(). No thread hop when the names are loaded, else one."""
    names = tuple(names)
    decided = _decided_without_groups(user)
    if decided is not None:
        return decided
    loaded = loaded_group_names(user)
    # No hop in native mode.
    if loaded is None and await _aload_group_names_natively(user):
        loaded = loaded_group_names(user)
    if loaded is not None:
        return not loaded.isdisjoint(names)
    return await sync_to_async(in_any_group)(user, names)


__all__ = [
    "GROUP_NAMES",
    "afill_group_names",
    "ain_any_group",
    "in_any_group",
    "load_group_names",
    "loaded_group_names",
    "wants_group_names",
]
