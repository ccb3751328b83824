"""Calling user hooks, whatever their shape, and judging what they finally return.

A hook may be ``def`` or ``async def``, a ``functools.partial`` of either, a
static or class method, a lambda, or an object whose ``__call__`` is either;
an ``async def`` hook may return another awaitable, and a ``def`` hook may
return a coroutine. Every result is awaited until it is no longer awaitable
before it is used: a coroutine object is truthy, so judging it unawaited would
grant access whatever the hook decided.

On async paths a hook runs where it is safe: an async hook, and a library
default known to do no I/O, in the event loop; any other plain ``def`` hook
(one a user wrote, which may query the database) in a thread, together with
the other such hooks of the same check and the decision, in one hop.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from asgiref.sync import async_to_sync, sync_to_async
from asgiref.sync import iscoroutinefunction as _asgiref_iscoroutinefunction

T = TypeVar("T")


def is_async_callable(hook: object) -> bool:
    """Whether calling ``hook`` runs no code of its own but returns a coroutine.

    Exact where ``asgiref.sync.iscoroutinefunction`` is not: it looks through
    partials (of bound methods too), static and class methods, and callable
    objects whose ``__call__`` is ``async def``.
    """
    seen = 0
    while seen < 32:  # a guard against a pathological self-referencing callable
        seen += 1
        if isinstance(hook, functools.partial):
            hook = hook.func
        elif isinstance(hook, (staticmethod, classmethod)) or inspect.ismethod(hook):
            hook = hook.__func__
        else:
            break
    if inspect.iscoroutinefunction(hook) or _asgiref_iscoroutinefunction(hook):
        return True
    if isinstance(hook, type) or inspect.isfunction(hook) or inspect.isbuiltin(hook):
        return False
    # The class's own __call__, as a call looks it up (not an instance attribute).
    call = next(
        (vars(k)["__call__"] for k in type(hook).__mro__ if "__call__" in vars(k)),
        None,
    )
    return call is not None and (
        inspect.iscoroutinefunction(call) or _asgiref_iscoroutinefunction(call)
    )


async def aresult(result: T | Awaitable[T]) -> T:
    """``result``, awaited for as long as it is awaitable."""
    while inspect.isawaitable(result):
        result = await result
    return result


def result(value: Any) -> Any:
    """See aresult(). From sync code, outside any event loop."""
    if not inspect.isawaitable(value):
        return value
    try:
        return async_to_sync(aresult)(value)
    except BaseException:
        close = getattr(value, "close", None)
        if close is not None:
            close()  # never leave a coroutine unawaited and warned about
        raise


def call_hook(hook: Callable[..., Any], *args: Any) -> Any:
    """Call ``hook`` from sync code and return what it finally returns.

    An async hook is run to completion with ``async_to_sync``.
    """
    return result(hook(*args))


async def acall_hook(hook: Callable[..., Any], *args: Any, inline: bool = False) -> Any:
    """See call_hook(). A sync hook runs in a thread (it may query), unless ``inline``.

    Pass ``inline=True`` only for a hook known to do no I/O (a library default).
    """
    if inline or is_async_callable(hook):
        return await aresult(hook(*args))
    return await aresult(await sync_to_async(hook)(*args))


def verdict(value: Any, source: object) -> bool:
    """The truth of ``value``, the final result of the check ``source``.

    A check may answer with any value Django would judge by its truth (a bool,
    a user, a queryset), except those that are true but answer nothing: a
    generator or async generator (a ``yield`` left in the check),
    ``NotImplemented``, a response (built where a bool was due), or a callable
    (a method returned uncalled). Judged by their truth, each would grant
    whatever the check meant; each raises ``TypeError`` instead, naming
    ``source``, so the request fails closed.
    """
    if (
        value is NotImplemented
        or inspect.isgenerator(value)
        or inspect.isasyncgen(value)
        or inspect.isawaitable(value)
        or callable(value)
        or _is_response(value)
    ):
        name = getattr(source, "__qualname__", None) or str(source)
        raise TypeError(
            f"{name} returned {value!r}, which is no answer to an access check: "
            "return True to grant or False to refuse."
        )
    return bool(value)


def _is_response(value: object) -> bool:
    # Not imported at module level: hooks must stay importable without settings.
    from django.http import HttpResponseBase

    return isinstance(value, HttpResponseBase)


def truth_or_awaitable(hook: Callable[..., Any], *args: Any) -> Any:
    """The verdict of ``hook``'s result, or the awaitable it returned, still to be awaited.

    Run in a thread, it judges a lazy result (a queryset) there, not in the
    event loop, and hands an awaitable back to the loop instead of blocking on it.
    """
    value = hook(*args)
    return value if inspect.isawaitable(value) else verdict(value, hook)


def truth(hook: Callable[..., Any], *args: Any) -> bool:
    """The verdict of what ``hook`` finally returns, from sync code."""
    return verdict(call_hook(hook, *args), hook)


async def atruth(hook: Callable[..., Any], *args: Any, inline: bool = False) -> bool:
    """See truth(). A sync hook runs in a thread, unless ``inline``."""
    if inline or is_async_callable(hook):
        return verdict(await aresult(hook(*args)), hook)
    outcome = await sync_to_async(truth_or_awaitable)(hook, *args)
    return verdict(await aresult(outcome), hook)


def is_overridden(owner: object, name: str, base: type) -> bool:
    """Whether ``owner``'s hook ``name`` is not ``base``'s own method.

    Looks at what ``owner.name`` is (an instance attribute, a static method, a
    callable object), not only at its class.
    """
    hook = getattr(owner, name)
    return getattr(hook, "__func__", hook) is not getattr(base, name)


def runs_in_loop(owner: object, name: str, base: type) -> bool:
    """Whether ``owner``'s hook ``name`` may be called in the event loop.

    True for an async hook, and for ``base``'s own default, which does no I/O;
    False for any other plain ``def`` hook, which may query the database.
    """
    return is_async_callable(getattr(owner, name)) or not is_overridden(
        owner, name, base
    )


def call_hooks(owner: object, names: Sequence[str]) -> list[Any]:
    """The results of ``owner``'s hooks ``names``, from sync code."""
    return [call_hook(getattr(owner, name)) for name in names]


async def acall_hooks_then(
    owner: object,
    base: type,
    names: Sequence[str],
    decide: Callable[..., T],
    adecide: Callable[..., Awaitable[T]] | None = None,
) -> T:
    """``decide(*results)`` of ``owner``'s hooks ``names``, in one thread hop at most.

    The hooks that may run in the event loop are called there first. If any
    other is left (a plain ``def`` override), it runs in one thread with the
    rest and ``decide()``; otherwise ``adecide()`` decides (in one hop at most),
    or, without ``adecide``, ``decide()`` in the loop (it must do no I/O).
    The decision's result is awaited if it is awaitable.
    """
    pending = object()
    values = [
        await aresult(getattr(owner, name)())
        if runs_in_loop(owner, name, base)
        else pending
        for name in names
    ]
    if not any(value is pending for value in values):
        if adecide is None:
            return decide(*values)
        return await adecide(*values)

    def in_thread() -> Any:
        return decide(
            *(
                call_hook(getattr(owner, name)) if value is pending else value
                for name, value in zip(names, values, strict=True)
            )
        )

    decided: T = await aresult(await sync_to_async(in_thread)())
    return decided
