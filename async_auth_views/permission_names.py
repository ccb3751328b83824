"""Permission names no installed model declares: found by a system check, named in the log.

``permission_required = "books.chnage_book"`` refuses everyone but active
superusers, silently: no backend of Django's grants a permission no model
declares. What the models declare is what ``migrate`` creates: for each model
of each installed app, its ``Meta.default_permissions`` and its
``Meta.permissions``, named ``"<app_label>.<codename>"`` (a proxy's by its own
app). A name django-rules registers counts too.

System check ``async_auth_views.W004`` reports every such name that the views
routed by ``ROOT_URLCONF`` require (``PermissionRequiredMixin``, Django's too,
and ``permission_required``, on a function or through ``method_decorator``),
and the consumer mixins' subclasses defined at module level and imported by
then. A permission a hook returns is only known at request time: every
refusal of the permission rule is logged (logger
``async_auth_views.permission_names``) naming the permissions it required, at
``INFO``, or at ``WARNING`` when no model declares one of them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.contrib.auth import get_permission_codename
from django.contrib.auth.mixins import (
    PermissionRequiredMixin as DjangoPermissionRequiredMixin,
)
from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver

from ._types import as_names

logger = logging.getLogger(__name__)

#: Where ``decorators.permission_required`` lists the names it requires, on
#: the view it returns (one tuple per decorator; functools.wraps carries them).
DECORATOR_MARK = "_async_auth_permissions"

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
    return [name for name in names if name not in declared and not _rule(name)]


def _rule(name: str) -> bool:
    rules = sys.modules.get("rules.permissions")
    return rules is not None and bool(rules.perm_exists(name))


def log_refusal(owner: Any, names: tuple[str, ...], any_perm: bool, obj: Any) -> None:
    """Name the permissions a refused check required; a warning if one is undeclared."""
    what = f"{'one of' if any_perm else 'all of'} {', '.join(map(repr, names))}"
    if obj is not None:
        what += " on an object"
    unknown = undeclared(names)
    if unknown:
        logger.warning(
            "%s refused the request: it requires %s, and no installed model "
            "declares %s (a typo?): only active superusers pass, unless a "
            "backend of yours grants it.",
            type(owner).__name__,
            what,
            ", ".join(map(repr, unknown)),
        )
    else:
        logger.info(
            "%s refused the request: it requires %s.", type(owner).__name__, what
        )


# The system check.


def check_permission_names(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """W004: a view or consumer requires a permission no installed model declares."""
    messages: dict[tuple[int, str, tuple[str, ...]], checks.CheckMessage] = {}
    for where, label, value in _required():
        names = _names(value)
        if names is None:
            continue  # not names: the check says what is wrong at request time
        message = _message(where, label, names)
        if message is not None:
            messages.setdefault((id(where), label, names), message)
    return list(messages.values())


class _NotNames(Exception):
    pass


def _names(value: Any) -> tuple[str, ...] | None:
    try:
        return as_names(value, _NotNames)
    except _NotNames:
        return None


def _message(where: Any, label: str, names: tuple[str, ...]) -> checks.Warning | None:
    if not names:
        return checks.Warning(
            f"{label} names no permission: every visitor passes, anonymous "
            "ones included (an empty list of permissions is always held).",
            hint="Name the permissions it requires, or remove the check.",
            obj=where,
            id="async_auth_views.W004",
        )
    unknown = undeclared(names)
    if not unknown:
        return None
    hint = (
        "Name each permission 'app_label.codename', as the installed models "
        "declare it (Meta.default_permissions, Meta.permissions). If a "
        "backend of yours grants permissions no model declares, add "
        "'async_auth_views.W004' to SILENCED_SYSTEM_CHECKS."
    )
    return checks.Warning(
        f"{label} requires {', '.join(_quoted(unknown))}, which no installed "
        "model declares: only active superusers pass.",
        hint=hint,
        obj=where,
        id="async_auth_views.W004",
    )


def _quoted(names: list[str]) -> Iterator[str]:
    for name in names:
        yield repr(name) if "." in name else f"{name!r} (not 'app_label.codename')"


def _required() -> Iterator[tuple[Any, str, Any]]:
    """(view or consumer, how to name it, the permissions it names), for each found."""
    for view in _routed_views():
        yield from _named_by_view(view)
    for consumer in _consumers():
        yield consumer, _label(consumer), vars(consumer)["permission_required"]


def _label(where: Any) -> str:
    return f"{where.__module__}.{where.__qualname__}"


def _routed_views() -> Iterator[Any]:
    """Every view function ``ROOT_URLCONF`` routes to."""
    try:
        patterns = list(get_resolver().url_patterns)
    except Exception:
        return  # Django's own URL checks report a URLconf it cannot load.
    while patterns:
        pattern = patterns.pop()
        if isinstance(pattern, URLResolver):
            try:
                patterns.extend(pattern.url_patterns)
            except Exception:
                continue
        elif isinstance(pattern, URLPattern):
            yield pattern.callback


def _named_by_view(view: Any) -> Iterator[tuple[Any, str, Any]]:
    """What a routed view function requires: its decorators', its class's."""
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if not isinstance(cls, type):
        for names in getattr(view, DECORATOR_MARK, ()):
            yield view, _label(view), names
        return
    # as_view() copies dispatch()'s attributes (its decorators' marks) to the view.
    on_dispatch = getattr(getattr(cls, "dispatch", None), DECORATOR_MARK, ())
    for names in getattr(view, DECORATOR_MARK, ()):
        if names not in on_dispatch:
            yield cls, f"{_label(cls)}.as_view()", names
    initkwargs = getattr(view, "view_initkwargs", None) or {}
    if "permission_required" in initkwargs:
        label = f"{_label(cls)}.as_view(permission_required=...)"
        yield cls, label, initkwargs["permission_required"]
    elif _names_permissions(cls):
        yield cls, _label(cls), cls.permission_required  # type: ignore[attr-defined]
    for name in ("dispatch", *getattr(cls, "http_method_names", ())):
        for names in getattr(getattr(cls, name, None), DECORATOR_MARK, ()):
            yield cls, f"{_label(cls)}.{name}()", names


def _names_permissions(cls: type) -> bool:
    from .rules import PermissionHooks

    return (
        issubclass(cls, (PermissionHooks, DjangoPermissionRequiredMixin))
        and getattr(cls, "permission_required", None) is not None
    )


def _consumers() -> Iterator[type]:
    """Module-level subclasses of the consumer mixin that name their permissions."""
    mixins = sys.modules.get(f"{__package__}.channels.mixins")
    if mixins is None:
        return
    stack: list[type] = [mixins.PermissionRequiredMixin]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "<locals>" not in cls.__qualname__ and "permission_required" in vars(cls):
            yield cls


__all__ = [
    "DECORATOR_MARK",
    "check_permission_names",
    "declared_permissions",
    "log_refusal",
    "undeclared",
]
