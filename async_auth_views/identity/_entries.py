"""An identity-cache entry, the keys it lives under and whether it may be served.

Private to ``async_auth_views.identity``; the design is in docs/internals.rst
("The identity cache"). No I/O here: reading and writing are ``_cache``'s.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare

if TYPE_CHECKING:
    from .._types import UserType

#: Documented (docs/identity-cache.rst): every module of the package logs here.
logger = logging.getLogger("async_auth_views.identity")

# Bumped whenever Entry moves or changes shape: an entry pickled by an older
# version (naming a class that no longer exists) is then simply not read.
_PREFIX = "async_auth_views.identity.2"
#: The token every entry carries; deleted when any group or permission changes.
EVERYONE = f"{_PREFIX}.everyone"


@dataclass(frozen=True)
class Entry:
    """One cache entry: the session's user and what it was checked against."""

    user: Any
    backend: str
    session_hash: str
    user_token: str
    everyone_token: str
    session_token: str = ""
    #: When the session ends at the latest; None when its engine cannot tell.
    expires_at: datetime.datetime | None = None
    #: Where the session's token is (named by the session key's hash).
    session_token_key: str = ""


@dataclass(frozen=True)
class CacheRead:
    """What a read of the cache found: a valid entry, or a miss."""

    entry: Entry | None = None
    #: The cache could not be read (and that was logged): do not fill it now.
    failed: bool = False

    @property
    def user(self) -> UserType | None:
        """The entry's user; None for a miss."""
        return None if self.entry is None else self.entry.user


def session_entry_key(session_key: str) -> str:
    # Hashed: a session key must not be readable by whoever can list the cache.
    return f"{_PREFIX}.session.{_digest(session_key)}"


def session_token_key(session_key: str) -> str:
    return f"{_PREFIX}.session-token.{_digest(session_key)}"


def entry_token_pointer_key(session_key: str) -> str:
    """Where a Redis entry's user-token key is named, beside the entry, so that
    a hit is read in one round trip (see ``_redis``)."""
    return f"{_PREFIX}.session-user-token.{_digest(session_key)}"


def user_token_key(user_pk: Any) -> str:
    """Where the token of the user whose primary key is ``user_pk`` (in any form
    its field accepts, or a user instance) is."""
    return (
        f"{_PREFIX}.user.{settings.AUTH_USER_MODEL.lower()}.{user_pk_string(user_pk)}"
    )


def _digest(session_key: str) -> str:
    return sha256(session_key.encode()).hexdigest()


def entry_token_keys(entry: Entry) -> list[str]:
    """The keys to read, after ``entry``, to know whether it may be served."""
    return [entry_user_token_key(entry), EVERYONE, entry.session_token_key]


def entry_user_token_key(entry: Entry) -> str:
    """The key of the token of the user ``entry`` serves."""
    return user_token_key(entry.user)


def entry_user(entry: Entry, found: dict[str, Any]) -> UserType | None:
    """The user of ``entry`` if it may be served, given the values ``found`` at
    ``entry_token_keys(entry)`` (by key); None when it is stale. No I/O."""
    keys = entry_token_keys(entry)
    if not entry.session_token_key or any(key not in found for key in keys):
        return None  # A missing token is a miss, never a match.
    tokens = [found[key] for key in keys]
    if tokens != [entry.user_token, entry.everyone_token, entry.session_token]:
        return None
    if entry.expires_at is not None and entry.expires_at <= timezone.now():
        return None
    if entry.backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    if not constant_time_compare(
        entry.session_hash, entry.user.get_session_auth_hash()
    ):
        return None
    user: UserType = entry.user
    return user


def user_pk_string(user: Any) -> str:
    """The one string that names a user in tokens, entries and socket groups.

    ``user`` is an instance of the user model, of a proxy, a multi-table child
    or a parent of it, or a primary key in any form the user model's primary
    key field accepts (a ``UUID``, its str in capitals or as bare hex, an int
    or its str): each goes through the field's ``to_python()``, so every form
    names the same user. Raises ``ValidationError`` for a value the field
    refuses.
    """
    from django.contrib.auth import get_user_model
    from django.db.models import Model

    value = user.pk if isinstance(user, Model) else user
    pk_field = get_user_model()._meta.pk
    assert pk_field is not None
    return str(pk_field.to_python(value))
