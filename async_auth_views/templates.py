"""Internal: whether the middleware must load the permissions ``{{ perms }}`` reads.

A template rendered in an ``async def`` handler reads ``{{ perms }}`` in the
event loop, where ``ModelBackend``'s query raises; so for such a handler the
middleware loads them with the user. See docs/internals.rst.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from .hooks import is_async_callable

#: The context processor that gives templates ``{{ perms }}``.
AUTH_CONTEXT_PROCESSOR = "django.contrib.auth.context_processors.auth"


def templates_read_perms() -> bool:
    """Whether a template engine gives its templates ``{{ perms }}``."""
    for engine in getattr(settings, "TEMPLATES", None) or []:
        processors = (engine.get("OPTIONS") or {}).get("context_processors") or ()
        if AUTH_CONTEXT_PROCESSOR in processors:
            return True
    return False


def handler_runs_in_event_loop(view: Callable[..., Any], method: str | None) -> bool:
    """Whether the handler that answers ``method`` on ``view`` runs in the event loop.

    An ``async def`` function view, or the ``async def`` handler of a
    class-based view; not a DRF view (Django's handler renders its responses
    in a thread).
    """
    if getattr(view, "cls", None) is not None:  # DRF's APIView.as_view()
        return False
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return is_async_callable(view)
    name = (method or "").lower()
    if name not in getattr(view_class, "http_method_names", ()):
        return False
    if name == "head" and not hasattr(view_class, "head"):
        name = "get"  # View.setup() answers HEAD with get()
    return is_async_callable(getattr(view_class, name, None))


def renders_perms_in_event_loop(view: Callable[..., Any], method: str | None) -> bool:
    """Whether a template of ``view`` may read ``{{ perms }}`` in the event loop."""
    return handler_runs_in_event_loop(view, method) and templates_read_perms()


__all__ = [
    "AUTH_CONTEXT_PROCESSOR",
    "handler_runs_in_event_loop",
    "renders_perms_in_event_loop",
    "templates_read_perms",
]
