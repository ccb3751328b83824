"""Every shape a hook can take, each returning a value it computes with a query.

``SHAPES[name](value)`` is a class attribute that, read from an instance and
called with no argument (``self.hook()``), finally returns ``value``. Each
shape queries the database the way its kind allows (sync code with the sync
ORM, async code with the async one), so a sync shape that ran in the event
loop would raise ``SynchronousOnlyOperation``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group

#: How many times a shape's code ran, so a test can tell it was called.
RUNS: list[str] = []


def _query(shape: str) -> None:
    RUNS.append(shape)
    Group.objects.filter(name="nobody").exists()


async def _aquery(shape: str) -> None:
    RUNS.append(shape)
    await Group.objects.filter(name="nobody").aexists()


def _value(value: Any, shape: str = "partial") -> Any:
    _query(shape)
    return value


async def _avalue(value: Any, shape: str = "partial_of_async") -> Any:
    await _aquery(shape)
    return value


def _def(value: Any) -> Any:
    def hook(self: Any) -> Any:
        _query("def")
        return value

    return hook


def _async_def(value: Any) -> Any:
    async def hook(self: Any) -> Any:
        await _aquery("async_def")
        return value

    return hook


def _async_def_returning_awaitable(value: Any) -> Any:
    async def hook(self: Any) -> Any:
        await _aquery("async_def_returning_awaitable")
        return _avalue(value, "async_def_returning_awaitable")

    return hook


def _def_returning_coroutine(value: Any) -> Any:
    def hook(self: Any) -> Any:
        _query("def_returning_coroutine")
        return _avalue(value, "def_returning_coroutine")

    return hook


def _staticmethod(value: Any) -> Any:
    return staticmethod(functools.partial(_value, value, "staticmethod"))


def _async_staticmethod(value: Any) -> Any:
    async def hook() -> Any:
        await _aquery("async_staticmethod")
        return value

    return staticmethod(hook)


def _classmethod(value: Any) -> Any:
    def hook(cls: type) -> Any:
        _query("classmethod")
        return value

    return classmethod(hook)


def _async_classmethod(value: Any) -> Any:
    async def hook(cls: type) -> Any:
        await _aquery("async_classmethod")
        return value

    return classmethod(hook)


class _Callable:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self) -> Any:
        _query("callable_object")
        return self.value


class _AsyncCallable:
    def __init__(self, value: Any) -> None:
        self.value = value

    async def __call__(self) -> Any:
        await _aquery("async_callable_object")
        return self.value


def _lambda(value: Any) -> Any:
    return lambda self: (_query("lambda"), value)[1]


SHAPES: dict[str, Callable[[Any], Any]] = {
    "def": _def,
    "async_def": _async_def,
    "async_def_returning_awaitable": _async_def_returning_awaitable,
    "def_returning_coroutine": _def_returning_coroutine,
    "partial": lambda value: functools.partial(_value, value),
    "partial_of_async": lambda value: functools.partial(_avalue, value),
    "staticmethod": _staticmethod,
    "async_staticmethod": _async_staticmethod,
    "classmethod": _classmethod,
    "async_classmethod": _async_classmethod,
    "callable_object": _Callable,
    "async_callable_object": _AsyncCallable,
    "lambda": _lambda,
}


# Shapes of a function that takes the user: user_passes_test(test_func).


class _Checks:
    """Static, class and bound methods taking the user, sync and async."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def method(self, user: Any) -> Any:
        _query("method")
        return self.value

    async def amethod(self, user: Any) -> Any:
        await _aquery("async_method")
        return self.value


class _UserCallable(_Callable):
    def __call__(self, user: Any) -> Any:  # type: ignore[override]
        _query("callable_object")
        return self.value


class _AsyncUserCallable(_AsyncCallable):
    async def __call__(self, user: Any) -> Any:  # type: ignore[override]
        await _aquery("async_callable_object")
        return self.value


def _user_value(value: Any, user: Any) -> Any:
    return _value(value, "partial")


async def _auser_value(value: Any, user: Any) -> Any:
    return await _avalue(value, "partial_of_async")


def _user_def(value: Any) -> Callable[[Any], Any]:
    def test_func(user: Any) -> Any:
        _query("def")
        return value

    return test_func


def _user_async_def(value: Any) -> Callable[[Any], Any]:
    async def test_func(user: Any) -> Any:
        await _aquery("async_def")
        return value

    return test_func


def _user_async_def_returning_awaitable(value: Any) -> Callable[[Any], Any]:
    async def test_func(user: Any) -> Any:
        await _aquery("async_def_returning_awaitable")
        return _avalue(value, "async_def_returning_awaitable")

    return test_func


def _user_def_returning_coroutine(value: Any) -> Callable[[Any], Any]:
    def test_func(user: Any) -> Any:
        _query("def_returning_coroutine")
        return _avalue(value, "def_returning_coroutine")

    return test_func


def _user_static(value: Any) -> Callable[[Any], Any]:
    class Holder:
        @staticmethod
        def test(user: Any) -> Any:
            _query("staticmethod")
            return value

    return Holder.test


def _user_async_static(value: Any) -> Callable[[Any], Any]:
    class Holder:
        @staticmethod
        async def test(user: Any) -> Any:
            await _aquery("async_staticmethod")
            return value

    return Holder.test


def _user_classmethod(value: Any) -> Callable[[Any], Any]:
    class Holder:
        @classmethod
        def test(cls, user: Any) -> Any:
            _query("classmethod")
            return value

    return Holder.test


def _user_async_classmethod(value: Any) -> Callable[[Any], Any]:
    class Holder:
        @classmethod
        async def test(cls, user: Any) -> Any:
            await _aquery("async_classmethod")
            return value

    return Holder.test


#: ``TEST_FUNC_SHAPES[name](value)`` is a callable that, called with the user,
#: finally returns ``value``, querying the database as its kind allows.
TEST_FUNC_SHAPES: dict[str, Callable[[Any], Callable[[Any], Any]]] = {
    "def": _user_def,
    "async_def": _user_async_def,
    "async_def_returning_awaitable": _user_async_def_returning_awaitable,
    "def_returning_coroutine": _user_def_returning_coroutine,
    "partial": lambda value: functools.partial(_user_value, value),
    "partial_of_async": lambda value: functools.partial(_auser_value, value),
    "staticmethod": _user_static,
    "async_staticmethod": _user_async_static,
    "classmethod": _user_classmethod,
    "async_classmethod": _user_async_classmethod,
    "method": lambda value: _Checks(value).method,
    "async_method": lambda value: _Checks(value).amethod,
    "callable_object": _UserCallable,
    "async_callable_object": _AsyncUserCallable,
    "lambda": lambda value: lambda user: (_query("lambda"), value)[1],
    "lambda_returning_coroutine": lambda value: (
        lambda user: _avalue(value, "lambda_returning_coroutine")
    ),
}
