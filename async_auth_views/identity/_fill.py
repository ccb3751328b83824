"""Filling the identity cache: an entry stamped with the tokens read before the rows.

Private to ``async_auth_views.identity``. ``snapshot()`` reads the tokens
(creating the missing ones) around the session's load, before the database is
asked for the user; ``remember()`` stores the entry after, if it is still
safe to serve. Each is written once and run two ways: in the thread hop with
Django's cache API, and in native mode on the event loop (``asnapshot()``,
``aremember()``) with the reader's async primitives. Why each read comes
before which: docs/internals.rst ("The identity cache").
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

from .. import conf
from ._cache import Reader, reader_for
from ._engines import load_with_expiry, seconds_left
from ._entries import (
    EVERYONE,
    Entry,
    logger,
    session_token_key,
    user_pk_string,
    user_token_key,
)
from ._owed import owes

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache

    from .._types import UserType


def _session_token_timeout() -> int:
    # Longer than any entry stamped with it lives; once it expires, entries
    # that name it are misses, so it need not live forever (one per session).
    return 2 * conf.identity_cache_timeout()


def _new_token() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class Snapshot:
    """What the session and the tokens said *before* the database was read."""

    session_key: str
    user_pk: str
    backend: str
    session_hash: str
    user_token: str
    everyone_token: str
    session_token: str = ""
    expires_at: datetime.datetime | None = None


# snapshot() is written once, as steps that yield the I/O they need (the
# cache's get_many() and add(), the session's load), run by a sync driver
# (snapshot(), in the thread hop) and an async one (asnapshot(), in native
# mode), each doing that I/O its own way.


@dataclass(frozen=True)
class _GetMany:
    keys: Sequence[str]


@dataclass(frozen=True)
class _Add:
    key: str
    value: str
    timeout: int | None


class _Load:
    """Load the session; the answer is when it ends (``load_with_expiry()``)."""


_Step = _GetMany | _Add | _Load


def _tokens_creating(
    keys: Sequence[str], timeouts: Sequence[int | None]
) -> Generator[_Step, Any, list[str] | None]:
    """The current tokens under ``keys``, creating the missing ones first
    (``add()``: never replaces); None when any is still missing."""
    found = yield _GetMany(keys)
    if len(found) < len(keys):
        for key, timeout in zip(keys, timeouts, strict=True):
            yield _Add(key, _new_token(), timeout)
        found = yield _GetMany(keys)
        if len(found) < len(keys):
            return None
    return [found[key] for key in keys]


def _snapshot_steps(session: SessionBase) -> Generator[_Step, Any, Snapshot | None]:
    """Read the tokens and the session, in that order, creating missing tokens.

    The session's token (and everyone's) is read before the session is loaded,
    and the user's before the user is: a logout or a change that lands in
    between deletes a token this snapshot already holds. None when the session
    names no user, was loaded before (its data may predate the tokens), the
    cache fails, or this process owes it a deletion: then nothing is stored.
    Take it before resolving the user, and pass it to ``remember()``.
    """
    session_key = session.session_key
    if not session_key or hasattr(session, "_session_cache") or owes():
        return None
    first = yield from _tokens_creating(
        [session_token_key(session_key), EVERYONE],
        [_session_token_timeout(), None],
    )
    expires_at = yield _Load()
    user_pk = _session_user_pk(session)
    backend = session.get(BACKEND_SESSION_KEY)
    session_hash = session.get(HASH_SESSION_KEY)
    if (
        first is None
        or session.session_key != session_key
        or user_pk is None
        or not isinstance(backend, str)
        or not isinstance(session_hash, str)
    ):
        return None
    user_token = yield from _tokens_creating([user_token_key(user_pk)], [None])
    if user_token is None:
        return None
    session_token, everyone_token = first
    return Snapshot(
        session_key,
        user_pk,
        backend,
        session_hash,
        user_token[0],
        everyone_token,
        session_token,
        expires_at,
    )


def snapshot(cache: BaseCache, session: SessionBase) -> Snapshot | None:
    """See ``_snapshot_steps()``: with Django's cache API, and the session's own load."""
    steps = _snapshot_steps(session)
    answer: Any = None
    try:
        while True:
            step = steps.send(answer)
            if isinstance(step, _Load):
                answer = load_with_expiry(session)
                continue
            try:
                if isinstance(step, _GetMany):
                    answer = cache.get_many(step.keys)
                else:
                    answer = cache.add(step.key, step.value, step.timeout)
            except Exception:
                logger.warning("The identity cache could not be read.", exc_info=True)
                return None
    except StopIteration as done:
        return cast("Snapshot | None", done.value)


async def asnapshot(
    reader: Reader,
    session: SessionBase,
    load: Callable[[], Awaitable[datetime.datetime | None]],
) -> Snapshot | None:
    """See ``_snapshot_steps()``: in the event loop, with ``reader``'s async
    primitives and ``load()`` (native mode's session load)."""
    steps = _snapshot_steps(session)
    answer: Any = None
    try:
        while True:
            step = steps.send(answer)
            if isinstance(step, _Load):
                answer = await load()
                continue
            try:
                if isinstance(step, _GetMany):
                    answer = await reader.aget_many(step.keys)
                else:
                    answer = await reader.aadd(step.key, step.value, step.timeout)
            except Exception:
                logger.warning("The identity cache could not be read.", exc_info=True)
                return None
    except StopIteration as done:
        return cast("Snapshot | None", done.value)


def _to_store(
    session: SessionBase, user: UserType, before: Snapshot | None
) -> tuple[Entry, int] | None:
    """The entry ``remember()`` stores and its timeout; None when nothing may be.

    Only a user that the session named, unchanged by the resolution (same key,
    same stored hash), and whose hash the current ``SECRET_KEY`` gives (not a
    fallback, whose session Django renews) is stored, for no longer than the
    session has left; nothing while this process owes the cache a deletion.
    """
    if before is None or not user.is_authenticated or owes():
        return None
    if (
        session.session_key != before.session_key
        or session.get(HASH_SESSION_KEY) != before.session_hash
        or user_pk_string(user) != before.user_pk
        or not constant_time_compare(before.session_hash, user.get_session_auth_hash())
    ):
        return None
    timeout = conf.identity_cache_timeout()
    left = seconds_left(before.expires_at)
    if left is not None:
        timeout = min(timeout, int(left))
    if timeout < 1:
        return None
    entry = Entry(
        user,
        before.backend,
        before.session_hash,
        before.user_token,
        before.everyone_token,
        before.session_token,
        before.expires_at,
        session_token_key(before.session_key),
    )
    return entry, timeout


def remember(
    cache: BaseCache, session: SessionBase, user: UserType, before: Snapshot | None
) -> None:
    """Store the user ``session`` resolved to, if it is safe to serve it again
    (``_to_store()``). A cache that fails is logged, not raised."""
    found = _to_store(session, user, before)
    if found is None or before is None:
        return
    try:
        reader_for(cache).write(before.session_key, *found)
    except Exception:
        logger.warning("The identity cache could not be written.", exc_info=True)


async def aremember(
    reader: Reader,
    session: SessionBase,
    user: UserType,
    before: Snapshot | None,
) -> None:
    """See remember(); in the event loop, with ``reader``'s async write."""
    found = _to_store(session, user, before)
    if found is None or before is None:
        return
    try:
        await reader.awrite(before.session_key, *found)
    except Exception:
        logger.warning("The identity cache could not be written.", exc_info=True)


def _session_user_pk(session: SessionBase) -> str | None:
    """The user's key the session names, as ``user_pk_string()`` gives it; None
    when it names none, or a value the user model's key field refuses (then
    Django's ``get_user()`` decides, and nothing is stored)."""
    from django.core.exceptions import ValidationError

    value = session.get(SESSION_KEY)
    if value is None:
        return None
    try:
        return user_pk_string(value)
    except ValidationError:
        return None
