"""Run our reactions once a transaction commits, whatever the project's callbacks do.

Private to ``async_auth_views.identity``: ``on_commit()`` registers ours
robust and makes sure they run even when a callback before them raises;
see docs/internals.rst, "Changes". Logs as ``async_auth_views.commits``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger("async_auth_views.commits")

#: The connection attribute that marks its run of the callbacks as wrapped.
_WRAPPED = "_async_auth_views_commit_hooks"


class _Reaction:
    """One of our callbacks: runs once, and never raises (the error is logged)."""

    def __init__(self, func: Callable[[], None]) -> None:
        self.func = func
        self.ran = False
        # The name Django's log of callbacks gives.
        self.__qualname__ = getattr(func, "__qualname__", repr(func))

    def __call__(self) -> None:
        if self.ran:
            return
        self.ran = True
        try:
            self.func()
        except Exception:
            logger.exception("%s failed after the commit.", self.__qualname__)


def on_commit(func: Callable[[], None], using: str) -> None:
    """Run ``func`` once the transaction open on ``using`` commits (at once when
    none is), even if a callback registered before it raises; never with a
    rolled-back savepoint or transaction."""
    reaction = _Reaction(func)
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block and _in_event_loop():
        # No transaction is open in an event loop's thread (Django refuses
        # database work there): the change is committed. Django's on_commit()
        # would ask the connection and raise SynchronousOnlyOperation.
        reaction()
        return
    _wrap_commit_hooks(connection)
    connection.on_commit(reaction, robust=True)


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _wrap_commit_hooks(connection: Any) -> None:
    """Make ``connection`` run what is left of ours after its callbacks, however
    their run ends; once per connection."""
    if getattr(connection, _WRAPPED, False):
        return
    run = connection.run_and_clear_commit_hooks

    def run_and_clear_commit_hooks() -> None:
        ours = [f for _, f, _ in connection.run_on_commit if isinstance(f, _Reaction)]
        try:
            run()
        finally:
            for reaction in ours:
                reaction()  # Nothing if it ran already.

    connection.run_and_clear_commit_hooks = run_and_clear_commit_hooks
    setattr(connection, _WRAPPED, True)
