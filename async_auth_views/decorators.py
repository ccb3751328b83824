"""Function-view decorators: Django's, for sync and async views, asking every backend.

``login_required``, ``permission_required`` and ``user_passes_test`` keep the
signatures and answers of ``django.contrib.auth.decorators`` (a refusal is the
login redirect, ``next`` built as Django builds it, or ``PermissionDenied``
with ``raise_exception``), so moving a project over is one import line.
``group_required``, ``superuser_required``, ``staffuser_required``,
``recent_login_required`` and ``anonymous_required`` are the same rules the
view mixins offer, for function views.

This module is the decorator door: each rule is decided in
:mod:`async_auth_views.rules`, asked about an owner built from the
decorator's arguments. The wrapper is chosen once, at decoration: an async
view stays a coroutine function and is checked with one thread hop at most
(none when the answer is in memory), a sync one stays sync. Unlike Django's
async ``permission_required``, a sync-only backend (django-guardian's,
django-rules') is asked through its sync method in a thread rather than
skipped; unlike Django's ``user_passes_test`` on a sync view, an ``async def``
test (or one returning an awaitable) is judged by what it finally returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect

from . import rules
from .conf import require_app
from .hooks import aresult, is_async_callable
from .redirects import login_redirect
from .resolver import arequest_user, settle_user
from .rules import Refusal

if TYPE_CHECKING:
    from .resolver import UserType

ViewT = TypeVar("ViewT", bound=Callable[..., Any])
#: Builds the rule's owner (a ``rules.owner_for()``) for the request's user.
OwnerFactory = Callable[["UserType"], Any]


def _guard(
    rule: rules.Rule,
    owner: OwnerFactory,
    *,
    login_url: str | None,
    redirect_field_name: str | None,
    raise_exception: bool = False,
    marks: dict[str, bool] | None = None,
) -> Callable[[ViewT], ViewT]:
    """A decorator that serves the view when ``rule`` grants, and refuses as Django does.

    ``marks`` are attributes set on the wrapper for the middleware:
    ``preload_permissions`` and ``preload_groups`` ask it to load what the
    check reads with the user, ``login_required=False`` exempts the view from
    ``LoginRequiredMiddleware``.
    """

    def refuse(
        request: HttpRequest, checked: Any, refusal: Refusal
    ) -> HttpResponseBase:
        # Django's decorators send every refused user to the login page, or
        # answer 403 with raise_exception; the anonymous-only rule sends on.
        if refusal is Refusal.AUTHENTICATED:
            return HttpResponseRedirect(checked.get_authenticated_redirect_url())
        if raise_exception:
            raise PermissionDenied
        url = login_url or settings.LOGIN_URL
        if not url:
            raise ImproperlyConfigured(
                "The decorated view has no login URL: pass login_url to its "
                "decorator, or set settings.LOGIN_URL."
            )
        return login_redirect(request, str(url), redirect_field_name)

    def decorator(view_func: ViewT) -> ViewT:
        wrapper: Callable[..., Any]
        if _is_async_view(view_func):

            async def _view_wrapper(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> Any:
                require_app(view_func)
                user = await arequest_user(request)
                checked = owner(user)
                refusal = await rule.acheck(checked, user)
                if refusal is not None:
                    return refuse(request, checked, refusal)
                return await aresult(view_func(request, *args, **kwargs))

            wrapper = _view_wrapper
        else:

            def _sync_view_wrapper(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> Any:
                # A lazy user is resolved here, so no async hook meets it in a loop.
                require_app(view_func)
                user = settle_user(request)
                checked = owner(user)
                refusal = rule.check(checked, user)
                if refusal is not None:
                    return refuse(request, checked, refusal)
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
    if isinstance(value, str):
        return (value,)
    names = tuple(value) if isinstance(value, Iterable) else None
    if names is None or not all(isinstance(name, str) for name in names):
        raise TypeError(
            f"{decorator}() takes a {what} or an iterable of them, not {value!r}."
        )
    return names


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

    def owner(user: UserType) -> rules.AccessHooks:
        return rules.owner_for(
            rules.PassesTestHooks,
            user,
            "user_passes_test",
            test_func=functools.partial(test_func, user),
        )

    return _guard(
        rules.passes_test,
        owner,
        login_url=login_url,
        redirect_field_name=redirect_field_name,
    )


def _owner(hooks: type[rules.AccessHooks], name: str, **attrs: Any) -> OwnerFactory:
    """An owner factory for a rule whose hooks read only the decorator's arguments."""
    return lambda user: rules.owner_for(hooks, user, name, **attrs)


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
    decorator: Callable[[ViewT], ViewT] = _guard(
        rules.login,
        _owner(rules.AccessHooks, "login_required"),
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
    return _guard(
        rules.permissions,
        _owner(
            rules.PermissionHooks,
            "permission_required",
            permission_required=_names(perm, "permission name", "permission_required"),
        ),
        login_url=login_url,
        redirect_field_name=REDIRECT_FIELD_NAME,
        raise_exception=raise_exception,
        marks={"preload_permissions": True},
    )


def group_required(
    group: str | Iterable[str],
    login_url: str | None = None,
    raise_exception: bool = False,
) -> Callable[[ViewT], ViewT]:
    """Serve the view when the user belongs to at least one of ``group`` (names).

    Active superusers always pass. Refused users are redirected to the login
    page, or get 403 with ``raise_exception``.
    """
    return _guard(
        rules.groups,
        _owner(
            rules.GroupHooks,
            "group_required",
            group_required=_names(group, "group name", "group_required"),
        ),
        login_url=login_url,
        redirect_field_name=REDIRECT_FIELD_NAME,
        raise_exception=raise_exception,
        marks={"preload_groups": True},
    )


def _user_rule_decorator(rule: rules.Rule, name: str, doc: str) -> Callable[..., Any]:
    """A decorator like ``login_required``, with ``raise_exception``, for ``rule``."""

    def decorator(
        function: ViewT | None = None,
        redirect_field_name: str | None = REDIRECT_FIELD_NAME,
        login_url: str | None = None,
        raise_exception: bool = False,
    ) -> ViewT | Callable[[ViewT], ViewT]:
        guard: Callable[[ViewT], ViewT] = _guard(
            rule,
            _owner(rules.AccessHooks, name),
            login_url=login_url,
            redirect_field_name=redirect_field_name,
            raise_exception=raise_exception,
        )
        return _apply(guard, function)

    decorator.__name__ = decorator.__qualname__ = name
    decorator.__doc__ = doc
    return decorator


superuser_required = _user_rule_decorator(
    rules.superuser,
    "superuser_required",
    """Serve the view to active superusers; redirect others to the login page.

    ``raise_exception=True`` answers 403 instead. Use it bare
    (``@superuser_required``) or with arguments, as ``login_required``.
    """,
)
staffuser_required = _user_rule_decorator(
    rules.staffuser,
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
    """Serve the view to users who logged in less than ``max_last_login_delta`` seconds ago.

    Others are sent to the login page with ``next``, keeping their session.
    """
    decorator: Callable[[ViewT], ViewT] = _guard(
        rules.recent_login,
        _owner(
            rules.RecentLoginHooks,
            "recent_login_required",
            max_last_login_delta=max_last_login_delta,
        ),
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
    decorator: Callable[[ViewT], ViewT] = _guard(
        rules.anonymous,
        _owner(
            rules.AnonymousHooks,
            "anonymous_required",
            authenticated_redirect_url=authenticated_redirect_url,
        ),
        login_url=None,
        redirect_field_name=REDIRECT_FIELD_NAME,
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
