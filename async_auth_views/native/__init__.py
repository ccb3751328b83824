"""Statements on django-async-backend's async connections (native mode).

Private to the package. The engine, the pools per event loop, the statements
compiled once; ``arun_native()`` runs a load on the event loop or says to take
the thread hop instead. The session-level use is ``identity._native``; see
``docs/native.rst``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.core.exceptions import SynchronousOnlyOperation

from .engine import async_engine, caller_thread_waits, db_session_store
from .pool import Runner, borrowed

__all__ = [
    "Hop",
    "Runner",
    "arun_native",
    "async_engine",
    "borrowed",
    "caller_thread_waits",
    "db_session_store",
]


class Hop(Exception):
    """What follows is not reproduced natively: the caller takes the thread hop."""


async def arun_native(using: str, load: Callable[[Runner], Awaitable[None]]) -> bool:
    """Run ``load`` on a connection to ``using`` with no thread hop; False when
    it must run in the hop instead (another engine, a caller's transaction,
    ``Hop``, or anything that needs the sync ORM)."""
    if caller_thread_waits() or async_engine(using) is None:
        return False
    try:
        async with borrowed(using) as runner:
            await load(runner)
    except (Hop, SynchronousOnlyOperation):
        return False
    return True
