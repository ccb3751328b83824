"""An HTTP consumer's answer to a refusal: the view mixins' answers, as ASGI data (internal).

One mapping from a refusal to a status, body and headers, read from the
consumer's hooks as a view's answer is; ``channels.mixins`` sends it.
"""

from __future__ import annotations

import logging
from functools import partial
from io import BytesIO
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest

from .. import rules
from ..hooks import acall_hooks_then
from ..redirects import login_redirect
from ..rules import Refusal

#: An HTTP answer: status, body, headers.
HttpAnswer = tuple[int, bytes, list[tuple[bytes, bytes]]]

_TEXT = (b"Content-Type", b"text/plain; charset=utf-8")


async def aanswer(consumer: Any, denial: Refusal) -> HttpAnswer:
    """The view mixins' answer to ``denial``, from the ``consumer``'s hooks that
    shape it (in one thread hop when one is a plain ``def`` override)."""
    refusal = rules.answer(denial, consumer.raise_exception)
    hooks = rules.ANSWER_HOOKS[refusal]
    render = partial(_render, consumer.scope, refusal)
    answer: HttpAnswer = await acall_hooks_then(
        consumer, rules.AccessHooks, hooks, render
    )
    return answer


def _render(scope: Any, refusal: Refusal, *values: Any) -> HttpAnswer:
    """The status, body and headers that say ``refusal``, from its hooks' ``values``."""
    if refusal is Refusal.LOGIN:
        login_url, redirect_field_name = values
        try:
            request = ASGIRequest(scope, BytesIO())
            response = login_redirect(request, login_url, redirect_field_name)
        except (UnicodeDecodeError, SuspiciousOperation) as exc:
            return _bad_request(exc)
        location = response["Location"].encode("latin-1")
        return 302, b"", [(b"Location", location)]
    if refusal is Refusal.NOT_FOUND:
        return 404, b"Not Found", [_TEXT]
    return 403, str(values[0]).encode(), [_TEXT]


def _bad_request(exc: Exception) -> HttpAnswer:
    """400 for a request Django would refuse as bad, logged as Django logs it."""
    if isinstance(exc, SuspiciousOperation):
        security = logging.getLogger(f"django.security.{type(exc).__name__}")
        security.error(str(exc), extra={"status_code": 400})
    else:
        logging.getLogger("django.request").warning(
            "Bad Request (%s)", type(exc).__name__, extra={"status_code": 400}
        )
    return 400, b"Bad Request", [_TEXT]
