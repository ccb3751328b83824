"""Django's ``db`` and ``cached_db`` session stores, loaded and saved on an async connection.

Each function does what the store's own method does, in the same order and
with the same statements, and leaves the store as that method leaves it.
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING, Any

from django.contrib.sessions.backends.base import UpdateError
from django.db import DatabaseError
from django.utils import timezone

from ..native import statements
from ._cache import is_in_process
from ._redis import redis_reader

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.core.cache.backends.base import BaseCache

    from ..native import Runner

logger = logging.getLogger("django.contrib.sessions")


def is_cached_db(store: SessionBase) -> bool:
    from django.contrib.sessions.backends.cached_db import SessionStore

    return type(store) is SessionStore


async def aload(store: Any, runner: Runner, using: str) -> datetime.datetime | None:
    """``store.load()`` into ``store._session_cache``; the row's expiry when read.

    None when the data came from the cache (``cached_db``), the session's end
    then being read only if asked (``aexpiry()``).
    """
    if is_cached_db(store):
        try:
            data = await _cache_get(store._cache, store.cache_key)
        except Exception:
            data = None
        if data is not None:
            store._session_cache = data
            return None
    model = store.model
    statement = statements.session_row(model, using)
    params = statement.bind(runner.wrapper, store.session_key, timezone.now())
    rows = statement.converted(await runner.fetch(statement.sql, params))
    if not rows:
        store._session_key = None  # as _get_session_from_db() does
        store._session_cache = {}
        return timezone.now()
    session_data, expire_date = rows[0]
    data = store.decode(session_data)
    if is_cached_db(store):
        await _cache_set(
            store._cache,
            store.cache_key,
            data,
            store.get_expiry_age(expiry=expire_date),
        )
    store._session_cache = data
    expiry: datetime.datetime = expire_date
    return expiry


async def aexpiry(store: Any, runner: Runner, using: str) -> datetime.datetime:
    """``session_engines.expires_at()`` of a ``db`` or ``cached_db`` store."""
    if store.session_key is None:
        return timezone.now()
    statement = statements.session_expiry(store.model, using)
    params = statement.bind(runner.wrapper, store.session_key)
    rows = statement.converted(await runner.fetch(statement.sql, params))
    expiry: datetime.datetime = rows[0][0] if rows else timezone.now()
    return expiry


async def asave(store: Any, row: Any, runner: Runner, using: str) -> None:
    """``store.save()`` of a session that has a key, given the row Django builds
    (``create_model_instance()``): the row updated, then the cache.

    Raises ``UpdateError`` when the row is gone (deleted by a concurrent
    logout), as Django's ``save()`` does.
    """
    statement = statements.session_update(store.model, using)
    params = statement.bind(
        runner.wrapper, row.session_key, row.session_data, row.expire_date
    )
    try:
        updated = await runner.execute(statement.sql, params)
    except DatabaseError as exc:
        raise UpdateError from exc
    if updated < 1:
        raise UpdateError  # Django: "Forced update did not affect any rows."
    if is_cached_db(store):
        try:
            await _cache_set(
                store._cache, store.cache_key, store._session, store.get_expiry_age()
            )
        except Exception:
            logger.exception("Error saving to cache (%s)", store._cache)


async def _cache_get(cache: BaseCache, key: str) -> Any:
    if is_in_process(cache):
        return cache.get(key)
    reader = redis_reader(cache)
    if reader is not None:
        client = await reader._client()
        value = await client.get(cache.make_and_validate_key(key))
        return None if value is None else reader._loads(value)
    return await cache.aget(key)


async def _cache_set(cache: BaseCache, key: str, value: Any, timeout: int) -> None:
    if is_in_process(cache):
        cache.set(key, value, timeout)
        return
    reader = redis_reader(cache)
    if reader is not None and len(cache._servers) == 1:  # type: ignore[attr-defined]
        # One server: the reader's client is the primary's, where writes go.
        client = await reader._client()
        backend_timeout = cache.get_backend_timeout(timeout)
        made = cache.make_and_validate_key(key)
        if backend_timeout == 0:
            await client.delete(made)
        else:
            dumped = reader._django_client._serializer.dumps(value)  # type: ignore[attr-defined]
            await client.set(made, dumped, ex=backend_timeout)
        return
    await cache.aset(key, value, timeout)
