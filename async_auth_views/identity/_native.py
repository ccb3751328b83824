"""Django's ``get_user()``, on the event loop, for a session in a native database.

Private to ``async_auth_views.identity``: what ``_resolve``'s one thread hop
does, with django-async-backend's async connections (docs/native.rst).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import SynchronousOnlyOperation
from django.db import router
from django.utils.crypto import constant_time_compare

from ..groups import afill_group_names, wants_group_names
from ..hooks import is_async_callable
from ..native import (
    Hop,
    Runner,
    async_engine,
    borrowed,
    caller_thread_waits,
    db_session_store,
    statements,
)
from ..permissions import afill_permissions, wants_permissions
from . import _native_sessions as sessions
from ._cache import Reader
from ._fill import aremember, asnapshot

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase

Resolved = tuple[Any, "datetime.datetime | None"]


async def aresolve_native(
    session: SessionBase,
    *,
    with_permissions: bool = False,
    with_groups: bool = False,
    with_expiry: bool = False,
) -> Resolved | None:
    """The user ``session`` names, with no thread hop; None to take the hop instead.

    What ``_resolve.resolve_user_until()`` returns without an identity cache:
    the session loaded as its store loads it, the user as Django's
    ``get_user()`` and ``ModelBackend.get_user()`` decide, its permissions
    and group names when asked, and when its session ends when asked. None
    (before anything Django would do differently) where that cannot be
    reproduced exactly: a store or backend of another kind, another database
    for any of it, a manager this cannot compile, a caller's transaction
    (``engine.caller_thread_waits()``), a hook that needs the sync ORM, and
    every case where Django's ``get_user()`` writes: a session whose hash only
    a ``SECRET_KEY_FALLBACKS`` key verifies (its key is cycled), or none
    verifies (it is flushed).
    """
    store = db_session_store(session)
    if store is None or caller_thread_waits():
        return None
    using = router.db_for_read(store.model)  # type: ignore[attr-defined]
    if async_engine(using) is None:
        return None
    try:
        async with borrowed(using) as runner:
            return await _resolve(
                store, runner, using, with_permissions, with_groups, with_expiry
            )
    except (Hop, SynchronousOnlyOperation):
        return None


async def aresolve_native_filling(
    session: SessionBase,
    reader: Reader,
    *,
    with_groups: bool = False,
    with_expiry: bool = False,
) -> Resolved | None:
    """``aresolve_native()`` for an identity-cache miss, filling the entry as
    the thread hop's ``_resolve.resolve_user_until()`` does, in the same order:
    the tokens read before the session is loaded, the user's token before the
    user is read (``_fill.asnapshot()``), the entry stored after
    (``_fill.aremember()``), with ``reader``'s async primitives. None to
    take the thread hop instead, as ``aresolve_native()`` says, or when
    ``reader`` cannot fill from the event loop.
    """
    store = db_session_store(session)
    if store is None or not reader.fills_in_loop or caller_thread_waits():
        return None
    using = router.db_for_read(store.model)  # type: ignore[attr-defined]
    if async_engine(using) is None:
        return None
    loaded: list[datetime.datetime | None] = []
    try:
        async with borrowed(using) as runner:

            async def load() -> datetime.datetime | None:
                expiry = await sessions.aload(store, runner, using)
                if expiry is None:  # From cached_db's cache: its row says.
                    expiry = await sessions.aexpiry(store, runner, using)
                loaded.append(expiry)
                return expiry

            before = await asnapshot(reader, store, load)
            # An entry holds the permissions: loaded whenever it is filled.
            user, expiry = await _resolve(
                store, runner, using, True, with_groups, with_expiry and not loaded
            )
    except (Hop, SynchronousOnlyOperation):
        return None
    await aremember(reader, store, user, before)
    if not (with_expiry and user.is_authenticated):
        return user, None
    return user, (loaded[0] if loaded else expiry)


async def _resolve(
    store: Any,
    runner: Runner,
    using: str,
    with_permissions: bool,
    with_groups: bool,
    with_expiry: bool,
) -> Resolved:
    expiry = None
    if not hasattr(store, "_session_cache"):
        expiry = await sessions.aload(store, runner, using)
    user = await _user(store._session_cache, runner, using)
    if user is None:
        return AnonymousUser(), None
    if with_permissions and wants_permissions(user):
        await afill_permissions(user, runner, using)
    if with_groups and wants_group_names(user):
        await afill_group_names(user, runner, using)
    if with_expiry and expiry is None:
        expiry = await sessions.aexpiry(store, runner, using)
    return user, (expiry if with_expiry else None)


async def _user(data: dict[str, Any], runner: Runner, using: str) -> Any:
    """``django.contrib.auth.get_user()`` over the loaded session ``data``; None
    for ``AnonymousUser``. Raises ``Hop`` where Django would write or raise."""
    if SESSION_KEY not in data:
        return None
    model: Any = get_user_model()
    try:
        user_id = model._meta.pk.to_python(data[SESSION_KEY])
    except Exception:
        raise Hop from None  # Django raises it: so does the hop.
    backend_path = data.get(BACKEND_SESSION_KEY)
    if backend_path is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    try:
        backend = load_backend(backend_path)
    except Exception:
        raise Hop from None
    if not isinstance(backend, ModelBackend) or (
        type(backend).get_user is not ModelBackend.get_user
    ):
        raise Hop  # A get_user() of its own: only Django's is reproduced.
    user = await _get_user(backend, model, user_id, runner, using)
    if user is None or not hasattr(user, "get_session_auth_hash"):
        return user
    session_hash = data.get(HASH_SESSION_KEY)
    if not session_hash or not constant_time_compare(
        session_hash, user.get_session_auth_hash()
    ):
        # Django cycles the key (a fallback secret verifies) or flushes the
        # session (none does): both write, in the thread hop.
        raise Hop
    return user


async def _get_user(
    backend: ModelBackend, model: Any, user_id: Any, runner: Runner, using: str
) -> Any:
    """``ModelBackend.get_user(user_id)``: the default manager's ``get(pk=...)``,
    then ``user_can_authenticate()``."""
    manager = model._default_manager
    if manager.db != using:
        raise Hop
    statement = statements.user_statement(manager, using)
    if statement is None:
        raise Hop
    params = statement.statement.bind(runner.wrapper, user_id)
    users = statement.users(using, await runner.fetch(statement.statement.sql, params))
    if len(users) > 1:
        raise Hop  # MultipleObjectsReturned, which the hop raises.
    if not users:
        return None
    if is_async_callable(backend.user_can_authenticate):
        raise Hop  # Called unawaited by Django, whatever it decides.
    return users[0] if backend.user_can_authenticate(users[0]) else None
