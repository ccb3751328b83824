"""Types and helpers shared across the package; imports nothing of ours.

Private: a module at the bottom of the layers, so that the resolver, the
identity cache, the permissions and the rules can name the user type and
normalise names without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import TypeAlias

    from django.contrib.auth.models import _AnyUser

    # The active user model or AnonymousUser, as django-stubs types request.user.
    UserType: TypeAlias = _AnyUser
else:
    UserType = Any


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
