"""What an identity-cache hit asks the session's backend, so that a hit gives the
verdict Django's ``get_user()`` gives.

Private to ``async_auth_views.identity``; see docs/internals.rst, "The
identity cache".
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.backends import AllowAllUsersModelBackend, ModelBackend
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

from ..groups import GROUP_NAMES
from ..hooks import call, is_async_callable

if TYPE_CHECKING:
    from .._types import UserType
    from ._entries import Entry

# user_can_authenticate() implementations known to do no I/O.
_IN_LOOP = {
    ModelBackend.user_can_authenticate,
    AllowAllUsersModelBackend.user_can_authenticate,
}
# What the resolver loaded on the user, kept by an entry and copied onto the
# user an overridden get_user() answers (see permissions and groups).
_LOADED = ("_user_perm_cache", "_group_perm_cache", "_perm_cache", GROUP_NAMES)


@functools.cache
def _backend_class(path: str) -> type:
    cls: type = import_string(path)
    for name in ("get_user", "user_can_authenticate"):
        if is_async_callable(getattr(cls, name, None)):
            raise ImproperlyConfigured(
                f"{path}.{name}() is async def: Django's get_user() calls "
                f"{name}() without awaiting it, and its coroutine, which is "
                f"true, would let every user in. Define {name}() with def"
                + (", and aget_user() with async def." if name == "get_user" else ".")
            )
    return cls


def refuse_async_hooks(path: Any) -> None:
    """Raise ``ImproperlyConfigured`` when the configured backend at ``path`` (a
    session's) defines ``get_user()`` or ``user_can_authenticate()`` with
    ``async def``. A path not in ``AUTHENTICATION_BACKENDS`` is not imported:
    Django's ``get_user()`` ignores it."""
    if isinstance(path, str) and path in settings.AUTHENTICATION_BACKENDS:
        _backend_class(path)


def _keeps_model_get_user(cls: type) -> bool:
    return (
        issubclass(cls, ModelBackend)
        and cls.get_user is ModelBackend.get_user
        and cls.aget_user is ModelBackend.aget_user
    )


def confirms_in_loop(path: str) -> bool:
    """Whether a hit for a session of the backend at ``path`` is confirmed with
    no I/O: its ``get_user()`` and ``user_can_authenticate()`` are Django's."""
    cls = _backend_class(path)
    return _keeps_model_get_user(cls) and cls.user_can_authenticate in _IN_LOOP  # type: ignore[attr-defined]


def confirmed_user(entry: Entry) -> UserType | None:
    """The user ``entry`` may serve, as the session's backend answers now; None
    when it refuses (or answers another user): then the hit is a miss.

    May query (a backend's own hook): call it from sync code, or in the event
    loop only when ``confirms_in_loop()``. The entry's backend is one of
    ``AUTHENTICATION_BACKENDS`` (``_entries.entry_user()`` checked it).
    """
    cls = _backend_class(entry.backend)
    backend: Any = cls()  # A new instance per use, as Django's load_backend().
    user: Any = entry.user
    if _keeps_model_get_user(cls):
        can = backend.user_can_authenticate
        return user if call(can, user, check=True) else None
    answered: Any = backend.get_user(user.pk)
    if (
        answered is None
        or answered.pk != user.pk
        or not hasattr(answered, "get_session_auth_hash")
        or not constant_time_compare(
            entry.session_hash, answered.get_session_auth_hash()
        )
    ):
        return None
    for name in _LOADED:
        if name in user.__dict__ and name not in answered.__dict__:
            setattr(answered, name, user.__dict__[name])
    confirmed: UserType = answered
    return confirmed
