"""Run our reactions once a transaction commits, whatever the project's callbacks do.

Django runs a transaction's ``on_commit()`` callbacks in order, and one
registered without ``robust=True`` that raises ends the run: every callback
after it is dropped. A project callback registered earlier in the transaction
(an audit task whose broker is down) would so drop the identity cache's second
invalidation and the sockets' re-check. So ours are registered robust (they
never drop the project's), and, once per connection, the run of the callbacks
is wrapped: those of ours that were pending when it started and have not run
when it ends (a callback raised) run then, before the error goes on.

Ours are appended like any callback, with the savepoints open at the time, so
a savepoint or transaction rollback discards them as it discards the
project's, and ``TestCase.captureOnCommitCallbacks()`` captures them: an
insertion ahead of the project's callbacks would shift the callbacks it
counts from.
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
