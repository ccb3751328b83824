"""Each variant's own authentication middleware, picked by the request's path.

One project, one ``MIDDLEWARE`` and one server serve every variant, so they
differ only where a real project using them would: Django's
``AuthenticationMiddleware`` in front of Django's mixins and decorators and of
django-async-extensions, this library's in front of its own mixins. The
ceiling (and any other path) gets no authentication middleware at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.contrib.auth.middleware import (
    AuthenticationMiddleware as DjangoAuthenticationMiddleware,
)
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import async_only_middleware

from async_auth_views.middleware import AuthenticationMiddleware

GetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]

#: The first segment of each variant's path, and the middleware it runs behind.
AUTH_MIDDLEWARE = {
    "ours": AuthenticationMiddleware,
    "django-sync-mixins": DjangoAuthenticationMiddleware,
    "django-async-decorators": DjangoAuthenticationMiddleware,
    "async-extensions": DjangoAuthenticationMiddleware,
}


@async_only_middleware
def variant_authentication(get_response: GetResponse) -> GetResponse:
    """Build every variant's middleware once; route each request through its own."""
    chains: dict[str, GetResponse] = {
        prefix: middleware(get_response)
        for prefix, middleware in AUTH_MIDDLEWARE.items()
    }

    async def route(request: HttpRequest) -> HttpResponseBase:
        prefix = request.path_info.split("/", 2)[1]
        return await chains.get(prefix, get_response)(request)

    return route
