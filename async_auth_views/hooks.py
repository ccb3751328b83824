"""Calling user hooks that may be written as ``def`` or ``async def``.

A hook's result is always awaited when it is awaitable: a coroutine object is
truthy, so using it unawaited would grant access whatever the hook decided.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any, TypeVar

from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async

T = TypeVar("T")


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def call_hook(hook: Callable[[], Any]) -> Any:
    """Call ``hook`` from sync code; an async hook is run to completion."""
    if iscoroutinefunction(hook):
        return async_to_sync(hook)()
    result = hook()
    if isawaitable(result):
        return async_to_sync(_await)(result)
    return result


async def acall_hook(hook: Callable[[], Any]) -> Any:
    """See call_hook(). A sync hook runs in a thread, since it may query the database."""
    if iscoroutinefunction(hook):
        result = await hook()
    else:
        result = await sync_to_async(hook)()
    if isawaitable(result):
        result = await result
    return result


async def aresult(result: T | Awaitable[T]) -> T:
    """Await ``result`` if it is awaitable (a hook known to do no I/O, called inline)."""
    if isawaitable(result):
        return await result
    return result


def is_overridden(instance: object, name: str, base: type) -> bool:
    """Whether ``instance`` replaces ``base``'s method ``name`` with its own."""
    return getattr(type(instance), name) is not getattr(base, name)
