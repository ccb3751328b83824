"""The one mapping from a rule's denial to an HTTP answer.

``answer_for()`` / ``aanswer_for()`` read the protected object's hooks that
shape the answer (``get_login_url()``, ...), ``decorator_answer()`` a
decorator's arguments; ``response()`` renders it as Django does: the login
redirect, a redirect elsewhere, ``Http404`` or ``PermissionDenied``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import resolve_url

from .hooks import acall_hooks, call_hooks
from .redirects import login_redirect
from .rules import AccessHooks, AnonymousHooks, Denial

#: The hooks whose results shape the answer to each denial, in that order.
_HOOKS: dict[Denial, tuple[str, ...]] = {
    Denial.LOGIN: ("get_login_url", "get_redirect_field_name"),
    Denial.FORBIDDEN: ("get_permission_denied_message",),
    Denial.NOT_FOUND: (),
    Denial.AUTHENTICATED: ("get_authenticated_redirect_url",),
}


@dataclass(frozen=True)
class Answer:
    """What to answer a denied request with; ``response()`` renders it."""

    denial: Denial
    #: LOGIN: where to log in, and the query parameter that carries ``next``.
    login_url: Any = None
    redirect_field_name: str | None = None
    #: FORBIDDEN: the ``PermissionDenied`` message (None: raised without one).
    message: Any = None
    #: AUTHENTICATED: where authenticated users are sent.
    redirect_url: Any = None


def _with_raise_exception(denial: Denial, raise_exception: bool) -> Denial:
    """``raise_exception`` turns the login redirect into 403."""
    if raise_exception and denial is Denial.LOGIN:
        return Denial.FORBIDDEN
    return denial


def _answer(denial: Denial, *values: Any) -> Answer:
    """The answer to ``denial``, from the results of its ``_HOOKS``."""
    if denial is Denial.LOGIN:
        login_url, redirect_field_name = values
        return Answer(
            denial, login_url=login_url, redirect_field_name=redirect_field_name
        )
    if denial is Denial.FORBIDDEN:
        return Answer(denial, message=values[0])
    if denial is Denial.AUTHENTICATED:
        return Answer(denial, redirect_url=values[0])
    return Answer(denial)


def answer_for(protected: Any, denial: Denial) -> Answer:
    """The answer ``protected`` (an ``AccessHooks``) gives to ``denial``, from sync code."""
    denial = _with_raise_exception(denial, protected.raise_exception)
    return _answer(denial, *call_hooks(protected, _HOOKS[denial]))


async def aanswer_for(protected: Any, denial: Denial) -> Answer:
    """See answer_for(). One thread hop when a hook it reads is a plain ``def`` override."""
    denial = _with_raise_exception(denial, protected.raise_exception)
    base = AnonymousHooks if denial is Denial.AUTHENTICATED else AccessHooks
    return await acall_hooks(protected, base, _HOOKS[denial], partial(_answer, denial))


def decorator_answer(
    denial: Denial,
    *,
    login_url: str | None,
    redirect_field_name: str | None,
    raise_exception: bool,
    authenticated_redirect_url: str | None,
) -> Answer:
    """The answer a function-view decorator gives to ``denial``, from its arguments.

    As Django's decorators answer: every denied user is sent to the login
    page, or gets 403 with ``raise_exception``; the anonymous-only rule sends
    authenticated users on.
    """
    if denial is Denial.AUTHENTICATED:
        url = authenticated_redirect_url or settings.LOGIN_REDIRECT_URL
        if not url:
            raise ImproperlyConfigured(
                "The decorated view has nowhere to send authenticated users: "
                "pass authenticated_redirect_url to anonymous_required(), or "
                "set settings.LOGIN_REDIRECT_URL."
            )
        return Answer(denial, redirect_url=str(resolve_url(url)))
    if raise_exception:
        return Answer(Denial.FORBIDDEN)
    url = login_url or settings.LOGIN_URL
    if not url:
        raise ImproperlyConfigured(
            "The decorated view has no login URL: pass login_url to its "
            "decorator, or set settings.LOGIN_URL."
        )
    return Answer(
        Denial.LOGIN, login_url=str(url), redirect_field_name=redirect_field_name
    )


def response(request: HttpRequest, answer: Answer) -> HttpResponseBase:
    """The response that says ``answer``, or the exception Django answers with."""
    if answer.denial is Denial.LOGIN:
        return login_redirect(request, answer.login_url, answer.redirect_field_name)
    if answer.denial is Denial.AUTHENTICATED:
        return HttpResponseRedirect(answer.redirect_url)
    if answer.denial is Denial.NOT_FOUND:
        raise Http404
    if answer.message is None:
        raise PermissionDenied
    raise PermissionDenied(answer.message)


__all__ = ["Answer", "aanswer_for", "answer_for", "decorator_answer", "response"]
