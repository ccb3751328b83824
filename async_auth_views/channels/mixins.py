"""``LoginRequiredMixin``, ``PermissionRequiredMixin`` and ``UserPassesTestMixin`` for consumers.

The attributes and hooks are the view mixins' (``async_auth_views.mixins``), so
one access policy reads the same on a view and on a consumer. On a WebSocket
the check runs in ``websocket_connect``, before the handshake is accepted: a
refused socket is closed unaccepted (the server answers HTTP 403) and the
consumer's ``connect()`` never runs. On an ``AsyncHttpConsumer`` a refusal is
the view mixins' answer: the login redirect, or 403. An accepted socket stays
subject to its check: see ``async_auth_views.channels.revocation``.

Only async consumers are supported; a sync one is refused at class creation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from io import BytesIO
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import iscoroutinefunction
from channels.consumer import AsyncConsumer, SyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIRequest

from ..hooks import acall_hook, aresult, call_hook, is_overridden
from ..permissions import ahas_perms, has_perms, permission_list
from ..redirects import login_redirect
from ..resolver import UserType, aresolve_user_until
from ..sessions import seconds_left
from .middleware import can_set_cookie
from .revocation import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    EVERYONE_GROUP,
    MIN_TICK,
    renew_interval,
    revalidate_interval,
    saved_session,
    session_group,
    user_group,
)

if TYPE_CHECKING:
    from django.db.models import Model

    _Base = AsyncConsumer
else:
    _Base = object

logger = logging.getLogger(__name__)

# Methods through which a consumer serves; a base listed before the access
# mixin that defines one would serve without the check.
_GUARDED = ("dispatch", "websocket_connect", "http_request")
# Messages still handled after revocation: they end the consumer.
_ENDING = ("websocket.disconnect", "http.disconnect")
_REASONS = {CLOSE_UNAUTHENTICATED: "Session ended", CLOSE_FORBIDDEN: "Forbidden"}
# Re-check this long after the session's expiry, so that the store sees it expired.
_EXPIRY_MARGIN = 0.05


class AccessMixin(_Base):
    """The attributes and hooks shared by the consumer access mixins, as on views."""

    #: Where anonymous users are redirected (HTTP); ``settings.LOGIN_URL`` when unset.
    login_url: str | None = None
    #: The body of a 403 answer (HTTP).
    permission_denied_message: str = ""
    #: HTTP: answer 403 instead of redirecting anonymous users to the login page.
    raise_exception: bool = False
    #: HTTP: the query parameter that carries where the user was going.
    redirect_field_name: str | None = REDIRECT_FIELD_NAME

    #: Load the user's model permissions with the user when it is re-resolved
    #: (at the handshake and on revalidation), so the check costs no extra hop.
    preload_permissions: bool = False

    _auth_groups: tuple[str, ...] = ()
    _auth_checked_at: float | None = None
    _auth_revoked: bool = False
    #: When the session ends (``time.monotonic()``); None when its engine cannot tell.
    _auth_deadline: float | None = None
    _auth_timer: asyncio.Task[None] | None = None
    _auth_lock: asyncio.Lock | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mixin = next(b for b in cls.__mro__ if AccessMixin in b.__bases__).__name__
        if issubclass(cls, SyncConsumer):
            raise ImproperlyConfigured(
                f"{cls.__name__} is a sync consumer, which {mixin} cannot protect: "
                "its check and revocation need the event loop. Base "
                f"{cls.__name__} on AsyncWebsocketConsumer, AsyncJsonWebsocketConsumer "
                "or AsyncHttpConsumer."
            )
        mro = cls.__mro__
        for base in mro[1 : mro.index(AccessMixin)]:
            overrides = [name for name in _GUARDED if name in vars(base)]
            if overrides and not issubclass(base, AccessMixin):
                raise ImproperlyConfigured(
                    f"{cls.__name__} lists {base.__name__} before {mixin}, so "
                    f"{base.__name__}.{overrides[0]}() would serve without the "
                    f"access check. Put {mixin} first in {cls.__name__}'s bases."
                )

    def get_login_url(self) -> str:
        """Override this method to override the login_url attribute."""
        login_url = self.login_url or settings.LOGIN_URL
        if not login_url:
            name = type(self).__name__
            raise ImproperlyConfigured(
                f"{name} is missing the login_url attribute. Define "
                f"{name}.login_url, settings.LOGIN_URL, or override "
                f"{name}.get_login_url()."
            )
        return str(login_url)

    def get_permission_denied_message(self) -> str:
        """Override this method to override the permission_denied_message attribute."""
        return self.permission_denied_message

    def get_redirect_field_name(self) -> str | None:
        """Override this method to override the redirect_field_name attribute."""
        return self.redirect_field_name

    def _user(self) -> UserType:
        """``scope["user"]``, with a clear error when no middleware set it."""
        scope = cast(dict[str, Any], self.scope)
        if "user" not in scope or "session" not in scope:
            raise ImproperlyConfigured(
                f"{type(self).__name__} needs scope['user'] and scope['session']: "
                "wrap it in async_auth_views.channels.AuthMiddlewareStack."
            )
        user: UserType = scope["user"]
        return user

    async def check_access(self) -> bool:
        """Whether ``scope["user"]`` may use this consumer; each mixin adds its test."""
        return True

    async def handle_no_permission(self) -> None:
        """Refuse: close the socket, or answer the request with a redirect or 403.

        An unaccepted socket is closed with ``CLOSE_UNAUTHENTICATED`` for an
        anonymous user and ``CLOSE_FORBIDDEN`` otherwise; an HTTP request gets
        the view mixins' answer.
        """
        anonymous = not self._user().is_authenticated
        consumer: Any = self
        if self.scope["type"] == "websocket":
            code = CLOSE_UNAUTHENTICATED if anonymous else CLOSE_FORBIDDEN
            await consumer.close(code=code)
        elif anonymous and not self.raise_exception:
            request = ASGIRequest(cast(Any, self.scope), BytesIO())
            response = login_redirect(
                request, self.get_login_url(), self.get_redirect_field_name()
            )
            location = response["Location"].encode("latin-1")
            await consumer.send_response(302, b"", headers=[(b"Location", location)])
        else:
            body = self.get_permission_denied_message().encode()
            headers = [(b"Content-Type", b"text/plain; charset=utf-8")]
            await consumer.send_response(403, body, headers=headers)

    async def _agranted(self, *, reload: bool = False) -> bool:
        """Run the check (re-resolving the user first if ``reload``); errors refuse."""
        try:
            if reload:
                await self._areload()
            return bool(await self.check_access())
        except Exception:
            logger.exception("%s refused access: its check raised.", type(self))
            return False

    async def _arefuse(self) -> None:
        try:
            await self.handle_no_permission()
        except Exception:
            # Unanswered, the server refuses the socket or answers 500 itself.
            logger.exception("%s could not refuse access cleanly.", type(self))
        raise StopConsumer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        """Serve, then stop the socket's re-check timer however serving ended."""
        try:
            parent: Any = super()
            return await parent.__call__(scope, receive, send)
        finally:
            self._astop_timer()

    async def websocket_connect(self, message: Any) -> None:
        """Check access before the handshake; accept only through the consumer's ``connect()``."""
        user = self._user()
        # Joining the groups before a fresh check leaves no moment in which a
        # logout could be sent to groups this socket is not in yet. The fresh
        # check also learns when the session expires.
        reload = user.is_authenticated
        if reload and self.channel_layer is not None:
            await self._ajoin_groups(user)
        if not await self._agranted(reload=reload):
            await self._aleave_groups()
            await self._arefuse()
        self._auth_checked_at = time.monotonic()
        if reload:
            self._auth_lock = asyncio.Lock()
            self._auth_timer = asyncio.get_running_loop().create_task(self._awatch())
        parent: Any = super()
        await parent.websocket_connect(message)

    async def http_request(self, message: Any) -> None:
        """Check access on the request's first message, before its body is read."""
        if self._auth_checked_at is None:
            if not await self._agranted():
                await self._arefuse()
            self._auth_checked_at = time.monotonic()
        parent: Any = super()
        await parent.http_request(message)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Serve nothing after revocation; revalidate first when a re-check is due."""
        if self._auth_revoked and message["type"] not in _ENDING:
            return
        if (
            message["type"] == "websocket.receive"
            and self._auth_timer is not None
            and self._recheck_due(time.monotonic())
            and not await self._arevalidate()
        ):
            return
        await super().dispatch(message)

    async def websocket_disconnect(self, message: Any) -> None:
        self._astop_timer()
        await self._aleave_groups()
        parent: Any = super()
        await parent.websocket_disconnect(message)

    async def async_auth_revoke(self, message: dict[str, Any]) -> None:
        """Channel-layer handler: the session ended or the user is gone."""
        await self._arevoke(int(message.get("code", CLOSE_UNAUTHENTICATED)))

    async def async_auth_revalidate(self, message: dict[str, Any]) -> None:
        """Channel-layer handler: the user changed; re-resolve and re-check."""
        await self._arevalidate()

    async def _areload(self) -> None:
        """Re-resolve ``scope["user"]`` from the saved session; learn when it ends."""
        scope = cast(dict[str, Any], self.scope)
        scope["user"], expires_at = await aresolve_user_until(
            saved_session(scope["session"]),
            can_set_cookie=can_set_cookie(scope),
            with_permissions=self.preload_permissions,
        )
        left = seconds_left(expires_at)
        # A session still valid past its stored expiry (a signed cookie's
        # set_expiry() is the browser's to enforce) is re-checked on the interval.
        self._auth_deadline = (
            None if left is None or left <= 0 else time.monotonic() + left
        )

    async def _arevalidate(self) -> bool:
        """Re-resolve the user from the saved session and re-run the check.

        One at a time: a re-check that started before a change must not
        finish after the one the change asked for and put the old user back.
        """
        if self._auth_lock is None:
            self._auth_lock = asyncio.Lock()
        async with self._auth_lock:
            if self._auth_revoked:
                return False
            before = self._user()
            granted = await self._agranted(reload=True)
            after = self._user()
            if before.is_authenticated and (
                not after.is_authenticated or after.pk != before.pk
            ):
                await self._arevoke(CLOSE_UNAUTHENTICATED)
                return False
            if not granted:
                await self._arevoke(CLOSE_FORBIDDEN)
                return False
            self._auth_checked_at = time.monotonic()
            return True

    async def _arevoke(self, code: int) -> None:
        """Close the socket; nothing it receives from now on is served."""
        if self._auth_revoked:
            return
        self._auth_revoked = True
        self._astop_timer()
        await self._aleave_groups()
        consumer: Any = self
        await consumer.close(code=code, reason=_REASONS.get(code))

    def _recheck_due(self, now: float) -> bool:
        """Whether the interval since the last check has passed, or the session expired."""
        checked_at = self._auth_checked_at
        interval = revalidate_interval(self.channel_layer is not None)
        return (checked_at is not None and now - checked_at >= interval) or (
            self._auth_deadline is not None
            and now >= self._auth_deadline + _EXPIRY_MARGIN
        )

    async def _awatch(self) -> None:
        """Re-check on the interval and at the session's expiry; keep the groups.

        The timer that makes revocation independent of any one message: a
        revocation lost by the channel layer (a full channel, an expired group
        membership) is caught by the next re-check, and memberships are renewed
        before the layer's ``group_expiry`` ends them.
        """
        interval = revalidate_interval(self.channel_layer is not None) or MIN_TICK
        renew_every = renew_interval(self.channel_layer) if self._auth_groups else None
        renewed_at = time.monotonic()
        try:
            while not self._auth_revoked:
                wake = [(self._auth_checked_at or renewed_at) + interval]
                if self._auth_deadline is not None:
                    wake.append(self._auth_deadline + _EXPIRY_MARGIN)
                if renew_every is not None:
                    wake.append(renewed_at + renew_every)
                await asyncio.sleep(max(min(wake) - time.monotonic(), 0))
                now = time.monotonic()
                if renew_every is not None and now >= renewed_at + renew_every:
                    renewed_at = now
                    await self._arenew_groups()
                if self._recheck_due(now):
                    await self._arevalidate()
        except Exception:
            # A timer that cannot re-check could no longer revoke: fail closed.
            logger.exception("%s stopped re-checking its session.", type(self))
            await self._arevoke(CLOSE_FORBIDDEN)

    def _astop_timer(self) -> None:
        timer, self._auth_timer = self._auth_timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _ajoin_groups(self, user: UserType) -> None:
        session_key = self.scope["session"].session_key
        groups = [user_group(cast("Model", user)), EVERYONE_GROUP]
        if session_key:
            groups.append(session_group(session_key))
        self._auth_groups = tuple(groups)
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def _arenew_groups(self) -> None:
        """Join the groups again: ``group_add`` restarts their ``group_expiry``."""
        try:
            for group in self._auth_groups:
                await self.channel_layer.group_add(group, self.channel_name)
        except Exception:
            # The interval's re-checks still bound how late a revocation is.
            logger.warning(
                "%s could not renew its revocation groups.", type(self), exc_info=True
            )

    async def _aleave_groups(self) -> None:
        groups, self._auth_groups = self._auth_groups, ()
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)


class LoginRequiredMixin(AccessMixin):
    """Verify that the current user is authenticated."""

    async def check_access(self) -> bool:
        return bool(self._user().is_authenticated) and await super().check_access()


class PermissionRequiredMixin(AccessMixin):
    """Verify that the current user has all specified permissions.

    ``get_permission_object()`` names the object the permissions are checked
    against (for object-permission backends); None checks model permissions.
    """

    #: One permission (``"app_label.codename"``) or an iterable of them, all required.
    permission_required: str | Sequence[str] | None = None
    preload_permissions = True

    def get_permission_required(self) -> Sequence[str]:
        """Override this method to override the permission_required attribute."""
        return permission_list(self.permission_required, self)

    def get_permission_object(self) -> Any:
        """The object to check the permissions against; may be ``async def``."""
        return None

    def has_permission(self) -> bool:
        """Override this method to customize the way permissions are checked.

        It may be ``def`` (run in a thread) or ``async def``.
        """
        obj = call_hook(self.get_permission_object)
        return has_perms(self._user(), self.get_permission_required(), obj)

    async def check_access(self) -> bool:
        return await super().check_access() and await self._ahas_permission()

    async def _ahas_permission(self) -> bool:
        get_object = self.get_permission_object
        if is_overridden(self, "has_permission", PermissionRequiredMixin) or (
            not iscoroutinefunction(get_object)
            and is_overridden(self, "get_permission_object", PermissionRequiredMixin)
        ):
            # The hooks may query: run them in one thread hop (or await them).
            return bool(await acall_hook(self.has_permission))
        perms = await aresult(self.get_permission_required())
        return await ahas_perms(self._user(), perms, await aresult(get_object()))


class UserPassesTestMixin(AccessMixin):
    """Refuse the consumer unless ``test_func()`` returns True.

    ``test_func`` may be ``def`` (run in a thread) or ``async def``; its result
    is always awaited before it is judged.
    """

    def test_func(self) -> bool | Awaitable[bool]:
        """Return whether the consumer may serve; ``def`` or ``async def``."""
        raise NotImplementedError(
            f"{type(self).__name__} is missing the implementation of the "
            "test_func() method."
        )

    def get_test_func(self) -> Callable[[], bool | Awaitable[bool]]:
        """Override this method to use a different test_func method."""
        return self.test_func

    async def check_access(self) -> bool:
        return await super().check_access() and bool(
            await acall_hook(self.get_test_func())
        )


__all__ = [
    "AccessMixin",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "UserPassesTestMixin",
]
