"""Internal: calling user hooks of any shape, and judging what they finally return.

A hook may be ``def`` or ``async def``, a partial, a static or class method,
or a callable object; every result is awaited until it is no longer awaitable
before it is used. See docs/internals.rst, "Hooks: any shape, judged by what
they return".
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar, overload

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


def _result(value: Any) -> Any:
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


@overload
def call(
    hook: Callable[..., Any], *args: Any, check: Literal[True], source: object = None
) -> bool: ...
@overload
def call(
    hook: Callable[..., Any], *args: Any, check: bool = False, source: object = None
) -> Any: ...
def call(
    hook: Callable[..., Any], *args: Any, check: bool = False, source: object = None
) -> Any:
    """What ``hook(*args)`` finally returns, from sync code; its truth with ``check``.

    An async hook is run to completion with ``async_to_sync``. With ``check``
    the result is judged as an access check's answer (see ``_to_bool()``);
    ``source`` names the check in the error, ``hook`` by default.
    """
    value = _result(hook(*args))
    return _to_bool(value, hook if source is None else source) if check else value


@overload
async def acall(
    hook: Callable[..., Any],
    *args: Any,
    inline: bool = False,
    check: Literal[True],
    source: object = None,
) -> bool: ...
@overload
async def acall(
    hook: Callable[..., Any],
    *args: Any,
    inline: bool = False,
    check: bool = False,
    source: object = None,
) -> Any: ...
async def acall(
    hook: Callable[..., Any],
    *args: Any,
    inline: bool = False,
    check: bool = False,
    source: object = None,
) -> Any:
    """See call(). A sync hook runs in a thread (it may query), unless ``inline``.

    Pass ``inline=True`` only for a hook known to do no I/O (a library
    default). With ``check`` a lazy result (a queryset) is judged in the
    hook's thread, not in the event loop.
    """
    source = hook if source is None else source
    if inline or is_async_callable(hook):
        value = await aresult(hook(*args))
    elif check:
        judged = await sync_to_async(_bool_or_awaitable)(hook, source, *args)
        value = await aresult(judged)
    else:
        value = await aresult(await sync_to_async(hook)(*args))
    return _to_bool(value, source) if check else value


def _to_bool(value: Any, source: object) -> bool:
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


def _bool_or_awaitable(hook: Callable[..., Any], source: object, *args: Any) -> Any:
    """The truth of ``hook``'s result, or the awaitable it returned, still to be awaited.

    Run in a thread, it judges a lazy result there, and hands an awaitable
    back to the loop instead of blocking on it.
    """
    value = hook(*args)
    return value if inspect.isawaitable(value) else _to_bool(value, source)


def is_overridden(obj: object, name: str, base: type) -> bool:
    """Whether ``obj``'s hook ``name`` is not ``base``'s own method.

    Looks at what ``obj.name`` is (an instance attribute, a static method, a
    callable object), not only at its class.
    """
    hook = getattr(obj, name)
    return getattr(hook, "__func__", hook) is not getattr(base, name)


def _runs_in_loop(obj: object, name: str, base: type) -> bool:
    """Whether ``obj``'s hook ``name`` may be called in the event loop: an
    async hook, or ``base``'s own default, which does no I/O."""
    return is_async_callable(getattr(obj, name)) or not is_overridden(obj, name, base)


def call_hooks(obj: object, names: Sequence[str]) -> list[Any]:
    """The results of ``obj``'s hooks ``names``, from sync code."""
    return [call(getattr(obj, name)) for name in names]


async def acall_hooks(
    obj: object,
    base: type,
    names: Sequence[str],
    decide: Callable[..., T],
    adecide: Callable[..., Awaitable[T]] | None = None,
) -> T:
    """``decide(*results)`` of ``obj``'s hooks ``names``, in one thread hop at most.

    The hooks that may run in the event loop (see ``_runs_in_loop()``) are
    called there first. If any other is left (a plain ``def`` override), it
    runs in one thread with the rest and ``decide()``; otherwise ``adecide()``
    decides (in one hop at most), or, without ``adecide``, ``decide()`` in the
    loop (it must do no I/O). The decision's result is awaited if awaitable.
    """
    pending = object()
    values = [
        await aresult(getattr(obj, name)())
        if _runs_in_loop(obj, name, base)
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
                call(getattr(obj, name)) if value is pending else value
                for name, value in zip(names, values, strict=True)
            )
        )

    decided: T = await aresult(await sync_to_async(in_thread)())
    return decided


__all__ = [
    "acall",
    "acall_hooks",
    "aresult",
    "call",
    "call_hooks",
    "is_async_callable",
    "is_overridden",
]
