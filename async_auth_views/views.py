"""An async dispatch base for class-based views.

Django's ``View`` is async only when every handler is, so its generic views
(``TemplateView``, ``ListView``, ``FormView``, …), whose handlers are sync,
cannot be async at all. ``AsyncViewMixin`` makes a view async whatever its
handlers are: async handlers are awaited, sync ones run in a thread.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import classproperty
from django.views import View

from .hooks import aresult

# View's own handlers build their response without I/O: they are called inline.
_INLINE_HANDLERS = (View.options, View.http_method_not_allowed)


class AsyncViewMixin:
    """Make a class-based view async (``view_is_async`` is true) whatever its handlers are.

    Put it after the access mixins and before the view class, as in
    ``class Books(LoginRequiredMixin, AsyncViewMixin, ListView)``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        for base in mro[mro.index(AsyncViewMixin) + 1 :]:
            if "dispatch" in vars(base) and base is not View:
                raise ImproperlyConfigured(
                    f"{cls.__name__} lists AsyncViewMixin before {base.__name__}, "
                    f"whose dispatch() AsyncViewMixin would skip. Put AsyncViewMixin "
                    f"after {base.__name__} in {cls.__name__}'s bases."
                )

    @classproperty
    def view_is_async(cls) -> bool:
        return True

    async def dispatch(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        view: Any = self
        method = (request.method or "").lower()
        if method in view.http_method_names:
            handler = getattr(view, method, view.http_method_not_allowed)
        else:
            handler = view.http_method_not_allowed
        if iscoroutinefunction(handler):
            response = await handler(request, *args, **kwargs)
        elif getattr(handler, "__func__", None) in _INLINE_HANDLERS:
            response = await aresult(handler(request, *args, **kwargs))
        else:
            response = await sync_to_async(handler)(request, *args, **kwargs)
        return await aresult(response)


class AsyncView(AsyncViewMixin, View):  # type: ignore[misc]  # dispatch() is async
    """Django's ``View``, async whatever its handlers are."""


__all__ = ["AsyncView", "AsyncViewMixin"]
