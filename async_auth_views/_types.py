"""Shared types and helpers that import nothing of ours (internal)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# UserType: added by the l-identity branch; the lead combines the two at merge.


def as_names(
    value: Any,
    error: Callable[[object], Exception],
    item_error: Callable[[object], Exception] | None = None,
) -> tuple[str, ...]:
    """``value``, a name (a str) or an iterable of names, as a tuple of names.

    A str is one name (not its characters). Anything else raises
    ``error(value)``; an item that is not a str raises ``item_error(item)``,
    or ``error(value)`` without it.
    """
    if isinstance(value, str):
        return (value,)
    try:
        names = tuple(value)
    except TypeError:
        raise error(value) from None
    for name in names:
        if not isinstance(name, str):
            raise error(value) if item_error is None else item_error(name)
    return names
