"""Each variant's own session and authentication middleware, picked by the request's path.

One project, one ``MIDDLEWARE`` and one server serve every variant, so they
differ only where a real project using them would: Django's
``SessionMiddleware`` and ``AuthenticationMiddleware`` in front of Django's
mixins and decorators and of django-async-extensions, this library's
authentication middleware (behind Django's or its own ``SessionMiddleware``) in
front of its own mixins. The ceiling (and any other path) runs behind Django's
``SessionMiddleware`` only, and ``/bare/`` behind no middleware at all: its
thread hops are the ASGI handler's own, which every request pays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.contrib.sessions.middleware import (
    SessionMiddleware as DjangoSessionMiddleware,
)
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import async_only_middleware

from async_auth_views.middleware import AuthenticationMiddleware, SessionMiddleware

GetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]
Middleware = Callable[[GetResponse], GetResponse]

DJANGOS = (DjangoSessionMiddleware, DjangoAuthenticationMiddleware)
OURS = (DjangoSessionMiddleware, AuthenticationMiddleware)
OURS_WITH_SESSIONS = (SessionMiddleware, AuthenticationMiddleware)

#: The first segment of each variant's path, and its middleware, outermost first.
STACKS: dict[str, tuple[Middleware, ...]] = {
    "ours": OURS,
    "ours-sessions": OURS_WITH_SESSIONS,
    "django-sync-mixins": DJANGOS,
    "django-async-decorators": DJANGOS,
    "async-extensions": DJANGOS,
    # A page that needs no user, behind each full stack.
    "plain-ours": OURS_WITH_SESSIONS,
    "plain-django": DJANGOS,
    # No middleware: what the ASGI handler itself costs.
    "bare": (),
}
CEILING: tuple[Middleware, ...] = (DjangoSessionMiddleware,)


def _chain(stack: tuple[Middleware, ...], get_response: GetResponse) -> GetResponse:
    for middleware in reversed(stack):
        get_response = middleware(get_response)
    return get_response


@async_only_middleware
def variant_middleware(get_response: GetResponse) -> GetResponse:
    """Build every variant's stack once; route each request through its own."""
    chains = {prefix: _chain(stack, get_response) for prefix, stack in STACKS.items()}
    ceiling = _chain(CEILING, get_response)

    async def route(request: HttpRequest) -> HttpResponseBase:
        prefix = request.path_info.split("/", 2)[1]
        return await chains.get(prefix, ceiling)(request)

    return route
