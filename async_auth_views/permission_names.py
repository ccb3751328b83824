"""Internal: system check W004, a view or consumer requires a permission no model declares.

Such a permission refuses everyone but active superusers, silently. A
permission a hook returns is only known at request time: the permission
rule logs each denial under this module's name (see ``rules``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.mixins import (
    PermissionRequiredMixin as DjangoPermissionRequiredMixin,
)
from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver

from ._types import as_names
from .permissions import declared_permissions, undeclared
from .rules import PermissionHooks

#: Where ``decorators.permission_required`` lists the names it requires, on
#: the view it returns (one tuple per decorator; functools.wraps carries them).
DECORATOR_MARK = "_async_auth_permissions"

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
        if "permission_required" in vars(cls) and _defined_at_module_level(cls):
            yield cls


def _defined_at_module_level(cls: type) -> bool:
    """Whether ``cls`` is the attribute of its name of a module imported from a
    file: a class a project declares, not one built at run time (which lives
    until collected) or executed into a module made in memory."""
    module = sys.modules.get(cls.__module__)
    return (
        getattr(module, "__file__", None) is not None
        and getattr(module, cls.__qualname__, None) is cls
    )


__all__ = [
    "DECORATOR_MARK",
    "check_permission_names",
    "declared_permissions",
    "undeclared",
]
