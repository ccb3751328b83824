"""Types shared across the package; imports nothing of ours.

Private: a module at the bottom of the layers, so that the resolver, the
identity cache and the permissions can name the user type without importing
each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import TypeAlias

    from django.contrib.auth.models import _AnyUser

    # The active user model or AnonymousUser, as django-stubs types request.user.
    UserType: TypeAlias = _AnyUser
else:
    UserType = Any
