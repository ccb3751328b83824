"""Permission checks that ask every backend, in one thread hop at most.

Also the permission names the installed models declare. See
docs/internals.rst, "Permissions: every backend is asked".
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.apps import apps
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_permission_codename
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, Permission, PermissionsMixin
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import QuerySet, Value
from django.db.models.expressions import RawSQL

from .hooks import call, is_async_callable
from .native import Hop, Runner, arun_native

if TYPE_CHECKING:
    from ._types import UserType

# ModelBackend's methods that decide has_perm(); a subclass that overrides none
# of them answers from the user's permission cache once it is loaded.
_MODEL_BACKEND_METHODS = (
    "has_perm",
    "get_all_permissions",
    "get_user_permissions",
    "get_group_permissions",
    "_get_permissions",
    "_get_user_permissions",
    "_get_group_permissions",
)
_DJANGO_HAS_PERM = {PermissionsMixin.has_perm, AnonymousUser.has_perm}
_DJANGO_HAS_PERMS = {PermissionsMixin.has_perms, AnonymousUser.has_perms}
_DJANGO_BACKENDS_MODULE = ModelBackend.__module__


def _uses_django_checks(user: UserType) -> bool:
    # Not type(): a lazy request.user (the sync path) reports its user's class.
    # A user model without PermissionsMixin has neither method.
    cls = user.__class__
    return (
        getattr(cls, "has_perm", None) in _DJANGO_HAS_PERM
        and getattr(cls, "has_perms", None) in _DJANGO_HAS_PERMS
    )


def _is_plain_model_backend(backend: object) -> bool:
    if not isinstance(backend, ModelBackend):
        return False
    return all(
        getattr(type(backend), name) is getattr(ModelBackend, name)
        for name in _MODEL_BACKEND_METHODS
    )


def _model_backend_needs_no_query(user: UserType, obj: Any) -> bool:
    # ModelBackend answers these without a query (see ModelBackend._get_permissions).
    return (
        not user.is_active
        or user.is_anonymous
        or obj is not None
        or hasattr(user, "_perm_cache")
    )


def _is_native_async(backend: object) -> bool:
    ahas_perm = getattr(type(backend), "ahas_perm", None)
    return ahas_perm is not None and ahas_perm.__module__ != _DJANGO_BACKENDS_MODULE


def _permission_backends() -> list[object]:
    return [b for b in auth.get_backends() if hasattr(b, "has_perm")]


def unawaited_async_method(backend: object) -> str | None:
    """The name of ``backend``'s sync permission method that is ``async def``, if any.

    Django's sync checks (``user.has_perm()``, the admin's
    ``has_module_perms()``) call these without awaiting; the coroutine, which
    is true, would grant every permission.
    """
    for name in ("has_perm", "has_module_perms"):
        if is_async_callable(getattr(backend, name, None)):
            return name
    return None


# AUTHENTICATION_BACKENDS values found free of such methods: checked once each.
_backends_checked: set[tuple[str, ...]] = set()


def _refuse_async_sync_methods() -> None:
    """Fail the check when a backend's ``has_perm()`` is ``async def`` (see above)."""
    configured = tuple(settings.AUTHENTICATION_BACKENDS)
    if configured in _backends_checked:
        return
    for backend in _permission_backends():
        name = unawaited_async_method(backend)
        if name is not None:
            cls = type(backend)
            raise ImproperlyConfigured(
                f"{cls.__module__}.{cls.__qualname__}.{name}() is async def: Django "
                f"calls {name}() without awaiting it, and its coroutine, which is "
                f"true, would grant every permission. Define {name}() with def, "
                f"and a{name}() with async def."
            )
    _backends_checked.add(configured)


def answers_from_permission_cache(user: UserType) -> bool:
    """Whether ``user``'s model-permission checks read only ``user._perm_cache``.

    True when the user model keeps Django's ``has_perm()`` and every permission
    backend is a plain ``ModelBackend``: then loading that cache up front
    (``load_permissions()``) answers every later check without a query.
    """
    return _uses_django_checks(user) and all(
        _is_plain_model_backend(b) for b in _permission_backends()
    )


def wants_permissions(user: UserType) -> bool:
    """Whether ``load_permissions()`` would read ``user``'s permissions.

    Not when the cache is loaded already, when no check would read it
    (anonymous, inactive or superuser), or when other backends decide.
    """
    return not (
        hasattr(user, "_perm_cache")
        or not user.is_active
        or user.is_anonymous
        or getattr(user, "is_superuser", False)
        or not answers_from_permission_cache(user)
    )


def load_permissions(user: UserType) -> None:
    """Fill the user's permission caches with one statement, where ``ModelBackend`` takes two.

    Does nothing unless ``wants_permissions(user)``.
    """
    if wants_permissions(user):
        store_permissions(user, _permission_rows(user))


def store_permissions(user: UserType, rows: Iterable[tuple[str, str, str]]) -> None:
    """Fill the caches ``ModelBackend`` reads from the rows of ``permission_statement()``."""
    found: dict[str, set[str]] = {"user": set(), "group": set()}
    for source, app_label, codename in rows:
        found[source].add(f"{app_label}.{codename}")
    # The caches ModelBackend's sync and async methods read (see _get_permissions).
    caches: Any = user
    caches._user_perm_cache = found["user"]
    caches._group_perm_cache = found["group"]
    caches._perm_cache = found["user"] | found["group"]


# The user's id in the compiled statement, replaced by the real one at each run.
_USER_ID = object()
# {(database alias, its vendor, user model label): (SQL, parameters)}
_statements: dict[tuple[str, str, str], tuple[str, tuple[Any, ...]]] = {}


def _permission_rows(user: UserType) -> list[tuple[str, str, str]]:
    """(source, app_label, codename) of each of the user's own and group permissions."""
    using = router.db_for_read(Permission, instance=user)
    sql, params = permission_statement(user, using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[str, str, str]] = cursor.fetchall()
    return rows


def permission_statement(
    user: UserType, using: str, connection: Any = None
) -> tuple[str, list[Any]]:
    """The statement that reads ``user``'s permissions on ``using``, and its parameters.

    The ORM builds the statement once per database and user model; compiling
    it costs twenty times what running it does, on every request.
    ``connection`` (``connections[using]`` by default) prepares the user's id.
    """
    model: Any = user.__class__
    if connection is None:
        connection = connections[using]
    key = (using, connection.vendor, model._meta.label)
    if key not in _statements:
        _statements[key] = _compile_permission_query(model, using)
    sql, params = _statements[key]
    user_id = model._meta.pk.get_db_prep_value(user.pk, connection)
    return sql, [user_id if p is _USER_ID else p for p in params]


async def afill_permissions(user: UserType, runner: Runner, using: str) -> None:
    """``load_permissions()`` on ``runner``, a native connection to ``using``."""
    if router.db_for_read(Permission, instance=user) != using:
        raise Hop
    sql, params = permission_statement(user, using, runner.wrapper)
    store_permissions(user, await runner.fetch(sql, params))


async def _aload_permissions_natively(user: UserType) -> bool:
    """``load_permissions()`` with no thread hop; False when it must run in
    the hop instead (not native mode, see ``native.arun_native()``)."""
    if not wants_permissions(user):
        return True
    using = router.db_for_read(Permission, instance=user)
    return await arun_native(using, partial(afill_permissions, user, using=using))


def _compile_permission_query(model: Any, using: str) -> tuple[str, tuple[Any, ...]]:
    # The lookups ModelBackend's _get_user_permissions() and
    # _get_group_permissions() make, from the Permission side.
    user_permissions = model._meta.get_field("user_permissions").related_query_name()
    groups = model._meta.get_field("groups").related_query_name()
    user_id = RawSQL("%s", (_USER_ID,))
    own = _permission_names({f"{user_permissions}__pk": user_id}, "user")
    by_group = _permission_names({f"group__{groups}__pk": user_id}, "group")
    query = own.union(by_group, all=True).order_by().using(using).query
    sql, params = query.get_compiler(using).as_sql()
    return sql, tuple(params)


def _permission_names(lookup: dict[str, Any], source: str) -> QuerySet[Any]:
    return (
        Permission.objects.filter(**lookup)
        .annotate(source=Value(source))
        .values_list("source", "content_type__app_label", "codename")
        .order_by()
    )


def _holds(user: UserType, perms: tuple[str, ...], obj: Any, any_perm: bool) -> bool:
    """The check itself, from sync code: each answer the user model gives, judged.

    Django's ``has_perms()`` is ``all(self.has_perm(...))``: when the user model
    keeps it, ``has_perm()`` is asked here, so that an ``async def has_perm()``
    override is awaited rather than its coroutine counted as a grant.
    """
    _refuse_async_sync_methods()
    if obj is None:
        load_permissions(user)
    if any_perm or user.__class__.has_perms in _DJANGO_HAS_PERMS:
        answers = (call(user.has_perm, perm, obj, check=True) for perm in perms)
        return any(answers) if any_perm else all(answers)
    return call(user.has_perms, perms, obj, check=True)


def has_perms(
    user: UserType,
    perms: Iterable[str],
    obj: Any = None,
    *,
    any_perm: bool = False,
    accept_global_perms: bool = False,
) -> bool:
    """Whether ``user`` holds every permission in ``perms`` (on ``obj``), as Django decides.

    With django-guardian's meanings: ``any_perm`` makes one permission enough;
    ``accept_global_perms`` lets the model-level permission grant when ``obj``
    is given, before the object's permissions are asked.
    """
    perms = tuple(perms)
    if accept_global_perms and obj is not None and _holds(user, perms, None, any_perm):
        return True
    return _holds(user, perms, obj, any_perm)


async def ahas_perms(
    user: UserType,
    perms: Iterable[str],
    obj: Any = None,
    *,
    any_perm: bool = False,
    accept_global_perms: bool = False,
) -> bool:
    """See has_perms(). No thread hop when no backend would query, else one at most."""
    perms = tuple(perms)
    objs = (None, obj) if accept_global_perms and obj is not None else (obj,)
    if _uses_django_checks(user):
        if user.is_active and getattr(user, "is_superuser", False):
            return True
        if answers_from_permission_cache(user):
            if obj is None and not _model_backend_needs_no_query(user, obj):
                await _aload_permissions_natively(user)  # No hop in native mode.
            if all(_model_backend_needs_no_query(user, o) for o in objs):
                return has_perms(
                    user,
                    perms,
                    obj,
                    any_perm=any_perm,
                    accept_global_perms=accept_global_perms,
                )
        elif all(_is_native_async(b) for b in _permission_backends()):
            for o in objs:
                if any_perm:
                    for perm in perms:
                        if await user.ahas_perm(perm, o):
                            return True
                elif await user.ahas_perms(perms, o):
                    return True
            return False
    return await sync_to_async(has_perms)(
        user, perms, obj, any_perm=any_perm, accept_global_perms=accept_global_perms
    )


# Permission names the installed models declare (what migrate creates).

_declared: tuple[object, frozenset[str]] | None = None


def declared_permissions() -> frozenset[str]:
    """Every ``"app_label.codename"`` the installed models declare."""
    global _declared
    models = apps.get_models()  # cached by the registry, renewed when it changes
    if _declared is None or _declared[0] is not models:
        names = set()
        for model in models:
            opts = model._meta
            for action in opts.default_permissions:
                names.add(f"{opts.app_label}.{get_permission_codename(action, opts)}")
            for codename, _name in opts.permissions:
                names.add(f"{opts.app_label}.{codename}")
        _declared = (models, frozenset(names))
    return _declared[1]


def undeclared(names: tuple[str, ...]) -> list[str]:
    """The names in ``names`` that no model declares and django-rules does not know."""
    declared = declared_permissions()
    return [name for name in names if name not in declared and not _rule_exists(name)]


def _rule_exists(name: str) -> bool:
    rules = sys.modules.get("rules.permissions")  # django-rules, if imported
    return rules is not None and bool(rules.perm_exists(name))


__all__ = [
    "afill_permissions",
    "ahas_perms",
    "answers_from_permission_cache",
    "declared_permissions",
    "has_perms",
    "load_permissions",
    "permission_statement",
    "store_permissions",
    "unawaited_async_method",
    "undeclared",
    "wants_permissions",
]
