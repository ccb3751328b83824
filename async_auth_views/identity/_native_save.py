"""``SessionMiddleware.process_response()`` with the session saved on an async connection."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.base import UpdateError
from django.db import router
from django.db.models.signals import post_save, pre_save
from django.http import HttpRequest, HttpResponseBase

from ..native import async_engine, borrowed, caller_thread_waits, db_session_store
from . import _native_sessions as sessions
from ._changes import _session_saved, session_save_announced


class _Saved:
    """The session as Django's ``process_response()`` reads it, already saved."""

    def __init__(self, session: Any, error: UpdateError | None) -> None:
        self._session = session
        self._error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def save(self, must_create: bool = False) -> None:
        if self._error is not None:
            raise self._error


def _signals_do_nothing(model: Any, row: Any) -> bool:
    """Whether saving ``row`` sends ``pre_save``/``post_save`` to no receiver
    that would act: none is connected, or only this library's own, which
    announces nothing for this row (``changes.session_save_announced()``).
    Any other receiver may query: the save then runs in the thread hop."""
    if pre_save.has_listeners(model):
        return False
    if not post_save.has_listeners(model):
        return True
    sync_receivers, async_receivers = post_save._live_receivers(model)
    return (
        not async_receivers
        and all(receiver is _session_saved for receiver in sync_receivers)
        and not session_save_announced(row)
    )


async def asave_session_native(
    middleware: Any, request: HttpRequest, response: HttpResponseBase
) -> HttpResponseBase | None:
    """Django's ``process_response()``, the session saved with no thread hop;
    None to run it in the thread hop instead.

    Only an update is native: a session without a key yet is created by
    Django (a key is drawn until one is free), as is a session whose model
    has ``pre_save``/``post_save`` receivers (they may query) or a database
    of another engine.
    """
    store = db_session_store(getattr(request, "session", None))
    if (
        store is None
        or store.session_key is None
        or not hasattr(store, "_session_cache")
        or caller_thread_waits()
    ):
        return None
    model = store.model  # type: ignore[attr-defined]
    row = store.create_model_instance(store._get_session())  # type: ignore[attr-defined]
    using = router.db_for_write(model, instance=row)
    if async_engine(using) is None:
        return None
    if response.status_code >= 500:
        # Django saves nothing then: process_response() only sets headers.
        result: HttpResponseBase = middleware.process_response(request, response)
        return result
    if not _signals_do_nothing(model, row):
        return None
    error = None
    async with borrowed(using) as runner:
        try:
            await sessions.asave(store, row, runner, using)
        except UpdateError as exc:
            error = exc
    session = request.session
    request.session = _Saved(session, error)  # type: ignore[assignment]
    try:
        answered: HttpResponseBase = middleware.process_response(request, response)
    finally:
        request.session = session
    return answered
