"""Function-view decorators, sync and async: Django's three, and the mixins' other rules.

Each asks a rule's decision directly (a decorator has no hooks) and renders
a denial through ``answers`` as Django's decorators answer: the login
redirect, or 403 with ``raise_exception``. See docs/decorators.rst.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest

from . import answers, rules
from ._types import as_names
from .conf import require_app
from .groups import ain_any_group, in_any_group
from .hooks import acall, aresult, call, is_async_callable
from .permission_names import DECORATOR_MARK
from .resolver import arequest_user, request_session, request_user
from .rules import Denial

if TYPE_CHECKING:
    from ._types import UserType

ViewT = TypeVar("ViewT", bound=Callable[..., Any])
#: A rule's decision for the request's user, sync and async: None grants.
_Check = Callable[["UserType", HttpRequest], "Denial | None"]
_ACheck = Callable[["UserType", HttpRequest], Awaitable["Denial | None"]]


def _guard(
    check: _Check,
    acheck: _ACheck,
    *,
    login_url: str | None,
    redirect_field_name: str | None,
    raise_exception: bool = False,
    authenticated_redirect_url: str | None = None,
    marks: dict[str, bool] | None = None,
) -> Callable[[ViewT], ViewT]:
    """A decorator that serves the view when ``check`` (on a sync view) or
    ``acheck`` (on an async one) grants, and answers a denial as Django does.

    ``marks`` are attributes set on the wrapper for the middleware:
    ``preload_permissions`` and ``preload_groups`` ask it to load what the
    check reads with the user, ``login_required=False`` exempts the view from
    ``LoginRequiredMiddleware``.
    """

    def answer(denial: Denial) -> answers.Answer:
        return answers.decorator_answer(
            denial,
            login_url=login_url,
            redirect_field_name=redirect_field_name,
            raise_exception=raise_exception,
            authenticated_redirect_url=authenticated_redirect_url,
        )

    def decorator(view_func: ViewT) -> ViewT:
        wrapper: Callable[..., Any]
        if _is_async_view(view_func):

            async def _view_wrapper(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> Any:
                require_app(view_func)
                denial = await acheck(await arequest_user(request), request)
                if denial is not None:
                    return answers.response(request, answer(denial))
                return await aresult(view_func(request, *args, **kwargs))

            wrapper = _view_wrapper
        else:

            def _sync_view_wrapper(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> Any:
                # A lazy user is resolved here, so no async hook meets it in a loop.
                require_app(view_func)
                denial = check(request_user(request), request)
                if denial is not None:
                    return answers.response(request, answer(denial))
                return view_func(request, *args, **kwargs)

            wrapper = _sync_view_wrapper
        # Read by LoginRequiredMiddleware; set before wraps(), as Django does,
        # so that an inner decorator's values win.
        view: Any = wrapper
        view.login_url = login_url
        view.redirect_field_name = redirect_field_name
        for mark, value in (marks or {}).items():
            setattr(view, mark, value)
        return functools.wraps(view_func)(wrapper)  # type: ignore[return-value]

    return decorator


def _in_memory(check: _Check) -> _ACheck:
    """The async twin of a ``check`` that does no I/O."""

    async def acheck(user: UserType, request: HttpRequest) -> Denial | None:
        return check(user, request)

    return acheck


def _passes(rule: rules.UserRule) -> _Check:
    """The check of a rule decided by the user alone."""

    def check(user: UserType, request: HttpRequest) -> Denial | None:
        return None if rule.passes(user) else rules.denial_for(user)

    return check


def _is_async_view(view: Callable[..., Any]) -> bool:
    """Whether Django awaits what ``view`` returns.

    True for an async function (or partial, or callable object), and for the
    plain ``dispatch()`` of an async class-based view, which returns its async
    handler's coroutine (``method_decorator(..., name="dispatch")`` hands it
    over bound, in a partial).
    """
    if is_async_callable(view):
        return True
    func = view.func if isinstance(view, functools.partial) else view
    instance = getattr(func, "__self__", None)
    return getattr(func, "__name__", None) == "dispatch" and bool(
        getattr(type(instance), "view_is_async", False)
    )


def _names(value: object, what: str, decorator: str) -> tuple[str, ...]:
    """``value`` (a name, or an iterable of names) as a tuple; a clear error otherwise."""
    return as_names(
        value,
        lambda given: TypeError(
            f"{decorator}() takes a {what} or an iterable of them, not {given!r}."
        ),
    )


def _apply(
    decorator: Callable[[ViewT], ViewT], function: ViewT | None
) -> ViewT | Callable[[ViewT], ViewT]:
    """``@decorator`` and ``@decorator(...)`` both, as ``login_required`` allows."""
    return decorator(function) if function else decorator


def user_passes_test(
    test_func: Callable[[UserType], Any],
    login_url: str | None = None,
    redirect_field_name: str | None = REDIRECT_FIELD_NAME,
) -> Callable[[ViewT], ViewT]:
    """Serve the view when ``test_func(user)`` is true; redirect to the login page otherwise.

    ``test_func`` may be ``def`` or ``async def`` (or return an awaitable), on
    sync and async views alike. On an async view a plain ``def`` test runs in
    a thread, so it may query the database; an ``async def`` one is awaited.
    """
    if not callable(test_func):
        raise TypeError(f"user_passes_test() takes a callable, not {test_func!r}.")

    def check(user: UserType, request: HttpRequest) -> Denial | None:
        return None if call(test_func, user, check=True) else rules.denial_for(user)

    async def acheck(user: UserType, request: HttpRequest) -> Denial | None:
        passed = await acall(test_func, user, check=True)
        return None if passed else rules.denial_for(user)

    return _guard(
        check, acheck, login_url=login_url, redirect_field_name=redirect_field_name
    )


@overload
def login_required(
    function: ViewT,
    redirect_field_name: str | None = ...,
    login_url: str | None = ...,
) -> ViewT: ...
@overload
def login_required(
    function: None = None,
    redirect_field_name: str | None = ...,
    login_url: str | None = ...,
) -> Callable[[ViewT], ViewT]: ...
def login_required(
    function: ViewT | None = None,
    redirect_field_name: str | None = REDIRECT_FIELD_NAME,
    login_url: str | None = None,
) -> ViewT | Callable[[ViewT], ViewT]:
    """Serve the view to authenticated users; redirect others to the login page."""
    check = _passes(rules.login_rule)
    decorator: Callable[[ViewT], ViewT] = _guard(
        check,
        _in_memory(check),
        login_url=login_url,
        redirect_field_name=redirect_field_name,
    )
    return _apply(decorator, function)


def permission_required(
    perm: str | Iterable[str],
    login_url: str | None = None,
    raise_exception: bool = False,
) -> Callable[[ViewT], ViewT]:
    """Serve the view when the user holds every permission in ``perm``.

    Otherwise redirect to the login page, or raise ``PermissionDenied`` with
    ``raise_exception``. Every authentication backend is asked, on async views
    too; the middleware loads the user's model permissions with the user.
    """
    names = _names(perm, "permission name", "permission_required")

    def check(user: UserType, request: HttpRequest) -> Denial | None:
        granted = rules.holds_permissions(user, names, asked_by="permission_required")
        return None if granted else rules.denial_for(user)

    async def acheck(user: UserType, request: HttpRequest) -> Denial | None:
        granted = await rules.aholds_permissions(
            user, names, asked_by="permission_required"
        )
        return None if granted else rules.denial_for(user)

    guard: Callable[[ViewT], ViewT] = _guard(
        check,
        acheck,
        login_url=login_url,
        redirect_field_name=REDIRECT_FIELD_NAME,
        raise_exception=raise_exception,
        marks={"preload_permissions": True},
    )

    def decorator(view_func: ViewT) -> ViewT:
        view: Any = guard(view_func)
        # For system check W004; after wraps(), which copied the inner ones.
        setattr(view, DECORATOR_MARK, (*getattr(view, DECORATOR_MARK, ()), names))
        return view  # type: ignore[no-any-return]

    return decorator


def group_required(
    group: str | Iterable[str],
    login_url: str | None = None,
    raise_exception: bool = False,
) -> Callable[[ViewT], ViewT]:
    """Serve the view when the user belongs to at least one of ``group`` (names).

    Active superusers always pass. Denied users are redirected to the login
    page, or get 403 with ``raise_exception``.
    """
    names = _names(group, "group name", "group_required")

    def check(user: UserType, request: HttpRequest) -> Denial | None:
        return None if in_any_group(user, names) else rules.denial_for(user)

    async def acheck(user: UserType, request: HttpRequest) -> Denial | None:
        return None if await ain_any_group(user, names) else rules.denial_for(user)

    return _guard(
        check,
        acheck,
        login_url=login_url,
        redirect_field_name=REDIRECT_FIELD_NAME,
        raise_exception=raise_exception,
        marks={"preload_groups": True},
    )


def _user_rule_decorator(
    rule: rules.UserRule, name: str, doc: str
) -> Callable[..., Any]:
    """A decorator like ``login_required``, with ``raise_exception``, for ``rule``."""
    check = _passes(rule)

    def decorator(
        function: ViewT | None = None,
        redirect_field_name: str | None = REDIRECT_FIELD_NAME,
        login_url: str | None = None,
        raise_exception: bool = False,
    ) -> ViewT | Callable[[ViewT], ViewT]:
        guard: Callable[[ViewT], ViewT] = _guard(
            check,
            _in_memory(check),
            login_url=login_url,
            redirect_field_name=redirect_field_name,
            raise_exception=raise_exception,
        )
        return _apply(guard, function)

    decorator.__name__ = decorator.__qualname__ = name
    decorator.__doc__ = doc
    return decorator


superuser_required = _user_rule_decorator(
    rules.superuser_rule,
    "superuser_required",
    """Serve the view to active superusers; redirect others to the login page.

    ``raise_exception=True`` answers 403 instead. Use it bare
    (``@superuser_required``) or with arguments, as ``login_required``.
    """,
)
staffuser_required = _user_rule_decorator(
    rules.staff_rule,
    "staffuser_required",
    """Serve the view to active staff (``is_staff``); redirect others to the login page.

    ``raise_exception=True`` answers 403 instead. Use it bare
    (``@staffuser_required``) or with arguments, as ``login_required``.
    """,
)


def recent_login_required(
    function: ViewT | None = None,
    max_last_login_delta: float = 1800,
    login_url: str | None = None,
    redirect_field_name: str | None = REDIRECT_FIELD_NAME,
) -> ViewT | Callable[[ViewT], ViewT]:
    """Serve the view to sessions that logged in less than ``max_last_login_delta`` seconds ago.

    The time is the session's own, recorded at login, not the user's
    ``last_login``. Others are sent to the login page with ``next``, keeping
    their session.
    """
    rule, name = rules.recent_login_rule, "recent_login_required"

    def check(user: UserType, request: HttpRequest) -> Denial | None:
        session = functools.partial(request_session, request)
        return rule.decide(user, session, max_last_login_delta, name)

    async def acheck(user: UserType, request: HttpRequest) -> Denial | None:
        session = functools.partial(request_session, request)
        return await rule.adecide(user, session, max_last_login_delta, name)

    decorator: Callable[[ViewT], ViewT] = _guard(
        check,
        acheck,
        login_url=login_url,
        redirect_field_name=redirect_field_name,
    )
    return _apply(decorator, function)


def anonymous_required(
    function: ViewT | None = None, authenticated_redirect_url: str | None = None
) -> ViewT | Callable[[ViewT], ViewT]:
    """Serve the view to anonymous users; send authenticated ones to ``authenticated_redirect_url``.

    It defaults to ``settings.LOGIN_REDIRECT_URL``; a URL name is resolved.
    The view is exempt from ``LoginRequiredMiddleware`` (as with
    ``login_not_required``): only anonymous users may see it.
    """

    def check(user: UserType, request: HttpRequest) -> Denial | None:
        return rules.anonymous_rule.decide(user)

    decorator: Callable[[ViewT], ViewT] = _guard(
        check,
        _in_memory(check),
        login_url=None,
        redirect_field_name=REDIRECT_FIELD_NAME,
        authenticated_redirect_url=authenticated_redirect_url,
        marks={"login_required": False},
    )
    return _apply(decorator, function)


__all__ = [
    "anonymous_required",
    "group_required",
    "login_not_required",
    "login_required",
    "permission_required",
    "recent_login_required",
    "staffuser_required",
    "superuser_required",
    "user_passes_test",
]
