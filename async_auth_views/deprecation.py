"""Old public names kept working for one release, with a warning naming the new one."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any


class RemovedInAsyncAuthViews02Warning(DeprecationWarning):
    """A name or behaviour that version 0.2 removes."""


def renamed(
    module: str, names: Mapping[str, str], namespace: Mapping[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that answers each old name in ``names`` with the
    object of its new name in ``namespace``, and warns."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} is deprecated: use {module}.{names[name]}.",
            RemovedInAsyncAuthViews02Warning,
            stacklevel=2,
        )
        return namespace[names[name]]

    return __getattr__


__all__ = ["RemovedInAsyncAuthViews02Warning", "renamed"]
