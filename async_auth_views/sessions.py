"""Django's ``SessionMiddleware``, leaving the event loop only for session I/O.

Django's ``SessionMiddleware`` is a ``MiddlewareMixin``: under ASGI it runs
``process_request()`` and ``process_response()`` each in a thread, two thread
hops per request, although creating the session store does no I/O and most
responses save nothing. This subclass runs Django's own two methods, unchanged,
and only moves the call: on the event loop when the step cannot touch the
session store, in one thread hop when Django's ``process_response()`` saves.
The session itself is loaded where it is first read (for a logged-in request,
in the thread hop in which ``AuthenticationMiddleware`` resolves the user).
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
        if is_overridden(self, "process_response", SessionMiddleware) or saves_session(
            request
        ):
            return await sync_to_async(self.process_response, thread_sensitive=True)(
                request, response
            )
        return self.process_response(request, response)


__all__ = ["SessionMiddleware", "saves_session"]
