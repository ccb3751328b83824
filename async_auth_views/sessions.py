"""Django's ``SessionMiddleware``, leaving the event loop only for session I/O.

Django's own two methods, run on the event loop when they cannot touch the
session store, in one thread hop when ``process_response()`` saves. See
docs/internals.rst, "Eager resolution, one thread hop".
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.middleware import (
    SessionMiddleware as DjangoSessionMiddleware,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from .conf import require_setup
from .hooks import is_overridden
from .identity import asave_session_native


def saves_session(request: HttpRequest) -> bool:
    """Whether Django's ``process_response()`` would read or write the session store.

    It does when the session was modified, or ``SESSION_SAVE_EVERY_REQUEST`` is
    on, and the session is not empty (an emptied session only has its cookie
    deleted). Everything else it does is headers: no I/O.
    """
    try:
        session = request.session
        changed = session.modified or settings.SESSION_SAVE_EVERY_REQUEST
        return bool(changed and not session.is_empty())
    except AttributeError:
        # No session, or not a session: Django's process_response() returns
        # the response untouched.
        return False


class SessionMiddleware(DjangoSessionMiddleware):
    """Drop-in replacement for Django's ``SessionMiddleware``, native on the async path.

    The sync path is Django's. On the async path the session store is created
    on the event loop, and ``process_response()`` runs on the event loop too
    unless it saves the session (see ``saves_session()``), in which case it
    runs in one thread hop. A request that saves nothing costs no thread hop.
    A subclass that overrides ``process_request()`` or ``process_response()``
    has the overridden method run in a thread, as Django would.
    """

    def __init__(self, get_response: Any) -> None:
        require_setup(self)
        super().__init__(get_response)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if is_overridden(self, "process_request", SessionMiddleware):
            await sync_to_async(self.process_request, thread_sensitive=True)(request)
        else:
            self.process_request(request)
        # django-stubs types responses as HttpResponse; Django's code takes any.
        response: HttpResponse = await self.get_response(request)  # type: ignore[misc]
        overridden = is_overridden(self, "process_response", SessionMiddleware)
        if not overridden and saves_session(request):
            saved = await asave_session_native(self, request, response)
            if saved is not None:
                return saved
        if overridden or saves_session(request):
            return await sync_to_async(self.process_response, thread_sensitive=True)(
                request, response
            )
        return self.process_response(request, response)


__all__ = ["SessionMiddleware", "saves_session"]
