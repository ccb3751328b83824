"""Which databases django-async-backend serves, and when the event loop may use them."""

from __future__ import annotations

import asyncio
import functools
from importlib import import_module
from types import ModuleType
from typing import Any

from asgiref.sync import AsyncToSync, SyncToAsync
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.utils.functional import LazyObject, empty


@functools.cache
def _engine_module(engine: str) -> ModuleType | None:
    # django-async-backend's own test: an engine whose base module has an
    # AsyncDatabaseWrapper can open async connections.
    try:
        module = import_module(f"{engine}.base")
    except (ImportError, ImproperlyConfigured):
        return None
    return module if hasattr(module, "AsyncDatabaseWrapper") else None


def async_engine(alias: str) -> ModuleType | None:
    """The engine module of ``alias`` when django-async-backend serves it, else None."""
    settings_dict = connections.settings.get(alias)
    if settings_dict is None:
        return None
    return _engine_module(settings_dict["ENGINE"])


def caller_thread_waits() -> bool:
    """Whether a sync thread waits for this coroutine (``async_to_sync``) and a
    thread hop would run in that thread.

    Then the threaded path reads through that thread's connection, inside any
    transaction it holds (a ``transaction.atomic()`` block, Django's
    ``TestCase``), which an async connection cannot see: the one hop gives
    Django's answer there, and costs little, as that thread is idle anyway.
    This mirrors how asgiref picks the thread of a thread-sensitive hop.
    """
    if getattr(AsyncToSync.executors, "current", None) is not None:
        return True
    if SyncToAsync.thread_sensitive_context.get(None) is not None:
        return False
    waiting: Any = getattr(AsyncToSync, "loop_thread_executors", {})
    return asyncio.get_running_loop() in waiting


def db_session_store(session: object) -> SessionBase | None:
    """The ``db`` or ``cached_db`` store ``session`` is (or wraps), else None.

    Channels hands over a ``LazyObject`` around the store; a subclass of
    either store may load, save or name its model otherwise, so it is not
    native.
    """
    from django.contrib.sessions.backends.cached_db import SessionStore as CachedDb
    from django.contrib.sessions.backends.db import SessionStore as Db

    kind = type(session)  # isinstance() would read __class__ through a lazy object
    if issubclass(kind, LazyObject):
        session = session._wrapped  # type: ignore[attr-defined]
        if session is empty:
            return None
        kind = type(session)
    if kind is Db or kind is CachedDb:
        store: SessionBase = session  # type: ignore[assignment]
        return store
    return None


__all__ = ["async_engine", "caller_thread_waits", "db_session_store"]
