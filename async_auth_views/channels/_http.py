"""An HTTP consumer's answer to a refusal: the view mixins' answers, as ASGI data (internal).

One mapping from a refusal to a status, body and headers, read from the
consumer's hooks as a view's answer is; ``channels.mixins`` sends it.
"""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest

from ..answers import Answer, aanswer_for
from ..redirects import login_redirect
from ..rules import Denial

#: An HTTP answer: status, body, headers.
HttpAnswer = tuple[int, bytes, list[tuple[bytes, bytes]]]

_TEXT = (b"Content-Type", b"text/plain; charset=utf-8")


async def aanswer(consumer: Any, denial: Denial) -> HttpAnswer:
    """The view mixins' answer to ``denial``, from the ``consumer``'s hooks that
    shape it (in one thread hop when one is a plain ``def`` override)."""
    return _render(consumer.scope, await aanswer_for(consumer, denial))


def _render(scope: Any, answer: Answer) -> HttpAnswer:
    """The status, body and headers that say ``answer``."""
    if answer.denial is Denial.LOGIN:
        try:
            request = ASGIRequest(scope, BytesIO())
            response = login_redirect(
                request, answer.login_url, answer.redirect_field_name
            )
        except (UnicodeDecodeError, SuspiciousOperation) as exc:
            return _bad_request(exc)
        location = response["Location"].encode("latin-1")
        return 302, b"", [(b"Location", location)]
    if answer.denial is Denial.NOT_FOUND:
        return 404, b"Not Found", [_TEXT]
    return 403, str(answer.message).encode(), [_TEXT]


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
