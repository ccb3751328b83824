"""``LoginRequiredMixin``, ``PermissionRequiredMixin`` and ``UserPassesTestMixin`` for consumers.

The attributes and hooks are the view mixins' (``async_auth_views.mixins``), so
one access policy reads the same on a view and on a consumer. The check runs
when the connection's first message (``websocket.connect``, ``http.request``)
reaches ``dispatch()``, before any handler sees it, on every consumer base
Channels offers, a raw ``AsyncConsumer`` included. And it is enforced at the
ASGI ``send`` the consumer speaks through: no frame leaves before the check
granted (a handshake accepted, a response started), nor after the socket was
revoked, whatever code sends it. A refused socket is closed unaccepted (the
server answers HTTP 403); an HTTP request gets the view mixins' answer: the
login redirect, or 403. An accepted socket stays subject to its check: see
``async_auth_views.channels.revocation``.

Only async consumers are supported; a sync one is refused at class creation.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from io import BytesIO
from typing import TYPE_CHECKING, Any, cast

from channels.consumer import AsyncConsumer, SyncConsumer
from channels.exceptions import StopConsumer
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest
from django.views import View

from .. import rules
from ..conf import require_setup
from ..hooks import acall_hook, acall_hooks_then, aresult, is_overridden, verdict
from ..redirects import login_redirect
from ..resolver import UserType, aresolve_user_until
from ..rules import Refusal
from ..session_engines import seconds_left
from .middleware import can_set_cookie
from .revocation import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    EVERYONE_GROUP,
    MIN_TICK,
    integration_used,
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

# Methods through which every message reaches a consumer; a base listed before
# the access mixin that defines one would serve without the check.
_GUARDED = ("__call__", "dispatch")
# The connection's first message: the check runs before a handler sees it.
_OPENING = ("websocket.connect", "http.request")
# Messages still handled after revocation: they end the consumer.
_ENDING = ("websocket.disconnect", "http.disconnect")
_REASONS = {CLOSE_UNAUTHENTICATED: "Session ended", CLOSE_FORBIDDEN: "Forbidden"}
# Re-check this long after the session's expiry, so that the store sees it expired.
_EXPIRY_MARGIN = 0.05
# Groups being left by a consumer that was cancelled meanwhile, kept referenced.
_leaving: set[asyncio.Task[None]] = set()

Send = Callable[[dict[str, Any]], Awaitable[None]]


class _Gate(enum.Enum):
    """What the consumer's ASGI ``send`` lets through."""

    #: Nothing: the check has not granted yet.
    UNCHECKED = "unchecked"
    #: Everything: the check granted.
    GRANTED = "granted"
    #: The refusal's own answer, while ``handle_no_permission()`` gives it.
    REFUSING = "refusing"
    #: Nothing: access was refused, or revoked.
    CLOSED = "closed"


_HttpAnswer = tuple[int, bytes, list[tuple[bytes, bytes]]]


def _bad_request(exc: Exception) -> _HttpAnswer:
    """400 for a request Django would refuse as bad, logged as Django logs it."""
    if isinstance(exc, SuspiciousOperation):
        security = logging.getLogger(f"django.security.{type(exc).__name__}")
        security.error(str(exc), extra={"status_code": 400})
    else:
        logging.getLogger("django.request").warning(
            "Bad Request (%s)", type(exc).__name__, extra={"status_code": 400}
        )
    return 400, b"Bad Request", [(b"Content-Type", b"text/plain; charset=utf-8")]


class AccessMixin(rules.AccessHooks, _Base):
    """The attributes and hooks shared by the consumer access mixins, as on views.

    ``login_url``, ``redirect_field_name`` and ``raise_exception`` shape the
    answer to an HTTP request; ``permission_denied_message`` is a 403's body.
    """

    #: Load the user's model permissions with the user when it is re-resolved
    #: (at the handshake and on revalidation), so the check costs no extra hop.
    preload_permissions: bool = False
    #: The same for the names of the user's groups.
    preload_groups: bool = False

    _auth_groups: tuple[str, ...] = ()
    _auth_checked_at: float | None = None
    _auth_revoked: bool = False
    _auth_gate: _Gate = _Gate.UNCHECKED
    #: The server's ``send``, behind the gate.
    _auth_send: Send
    #: A handshake accepted and not closed since.
    _auth_open: bool = False
    #: When the session ends (``time.monotonic()``); None when its engine cannot tell.
    _auth_deadline: float | None = None
    _auth_timer: asyncio.Task[None] | None = None
    _auth_lock: asyncio.Lock | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if issubclass(cls, View):
            raise rules.wrong_door(
                cls,
                "async_auth_views.channels",
                "a view",
                "Channels consumers",
                "async_auth_views.mixins",
            )
        mixin = next(b for b in cls.__mro__ if b.__module__ == __name__).__name__
        if issubclass(cls, SyncConsumer):
            raise ImproperlyConfigured(
                f"{cls.__name__} is a sync consumer, which {mixin} cannot protect: "
                "its check and revocation need the event loop. Base "
                f"{cls.__name__} on AsyncConsumer, AsyncWebsocketConsumer, "
                "AsyncJsonWebsocketConsumer or AsyncHttpConsumer."
            )
        mro = cls.__mro__
        for base in mro[1 : mro.index(AccessMixin)]:
            overrides = [name for name in _GUARDED if name in vars(base)]
            if overrides and not issubclass(base, AccessMixin):
                listed = next(
                    (b for b in cls.__bases__ if issubclass(b, base)), base
                ).__name__
                raise ImproperlyConfigured(
                    f"{cls.__name__} lists {listed} before {mixin}, so "
                    f"{base.__name__}.{overrides[0]}() would serve without the "
                    f"access check. Put {mixin} first in {cls.__name__}'s bases."
                )

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> Any:
        """Channels' ASGI application for the consumer, once the library is set up."""
        require_setup(cls)
        integration_used()
        parent: Any = super()
        return parent.as_asgi(**initkwargs)

    def access_user(self) -> UserType:
        return self._user()

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

    async def _apasses(self, rule: rules.Rule) -> bool:
        """Whether ``rule`` grants ``scope["user"]`` this consumer."""
        return await rule.acheck(self, self._user()) is None

    async def handle_no_permission(self) -> None:
        """Refuse: close the socket, or answer the request with a redirect or 403.

        An unaccepted socket is closed with ``CLOSE_UNAUTHENTICATED`` for an
        anonymous user and ``CLOSE_FORBIDDEN`` otherwise; an HTTP request gets
        the view mixins' answer. It may be overridden as ``def`` (run in a
        thread) or ``async def``; a socket it accepts is closed after it.
        """
        if self.scope["type"] == "websocket":
            await self._agate({"type": "websocket.close", "code": self._close_code()})
            return
        refusal = rules.answer(rules.refusal_for(self._user()), self.raise_exception)
        status, body, headers = await acall_hooks_then(
            self,
            rules.AccessHooks,
            rules.ANSWER_HOOKS[refusal],
            lambda *values: self._http_answer(refusal, *values),
        )
        await self._agate(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await self._agate({"type": "http.response.body", "body": body})

    def _close_code(self) -> int:
        """The close code of a refused socket: 4401 for an anonymous user, else 4403."""
        if rules.refusal_for(self._user()) is Refusal.LOGIN:
            return CLOSE_UNAUTHENTICATED
        return CLOSE_FORBIDDEN

    def _http_answer(self, refusal: Refusal, *values: Any) -> _HttpAnswer:
        """The status, body and headers that say ``refusal``, from its hooks' ``values``."""
        if refusal is Refusal.LOGIN:
            login_url, redirect_field_name = values
            try:
                request = ASGIRequest(cast(Any, self.scope), BytesIO())
                response = login_redirect(request, login_url, redirect_field_name)
            except (UnicodeDecodeError, SuspiciousOperation) as exc:
                return _bad_request(exc)
            location = response["Location"].encode("latin-1")
            return 302, b"", [(b"Location", location)]
        body = str(values[0]).encode()
        return 403, body, [(b"Content-Type", b"text/plain; charset=utf-8")]

    async def _agranted(self, *, reload: bool = False) -> bool:
        """Run the check (re-resolving the user first if ``reload``); errors refuse."""
        try:
            if reload:
                await self._areload()
            return verdict(await aresult(self.check_access()), self.check_access)
        except Exception:
            logger.exception("%s refused access: its check raised.", type(self))
            return False

    async def _agate(self, message: dict[str, Any]) -> None:
        """The ASGI ``send`` the consumer speaks through: nothing leaves it before
        its check granted, nor after its access was refused or revoked."""
        kind = message.get("type")
        if self._auth_gate in (_Gate.GRANTED, _Gate.REFUSING):
            if kind in ("websocket.accept", "websocket.close"):
                self._auth_open = kind == "websocket.accept"
            await self._auth_send(message)
            return
        name = type(self).__name__
        if self._auth_gate is _Gate.CLOSED:
            if kind != "websocket.close":  # already closed: nothing to say
                logger.warning(
                    "%s sent %r after its access was refused or revoked; it was "
                    "not sent.",
                    name,
                    kind,
                )
            return
        # The check never ran: a dispatch() or __call__() skipped it.
        self._auth_gate = _Gate.CLOSED
        error = ImproperlyConfigured(
            f"{name} sent {kind!r} before its access check ran. The check runs "
            "when the connection's first message reaches AccessMixin.dispatch(): "
            f"a dispatch() or __call__() that {name} overrides must call super()."
        )
        logger.error("%s", error)
        if str(kind).startswith("websocket."):
            await self._auth_send({"type": "websocket.close", "code": CLOSE_FORBIDDEN})
        raise error

    async def _arefuse(self) -> None:
        """Answer a refusal through ``handle_no_permission()``, then end the consumer."""
        self._auth_gate = _Gate.REFUSING
        try:
            await acall_hook(
                self.handle_no_permission,
                inline=not is_overridden(self, "handle_no_permission", AccessMixin),
            )
        except Exception:
            # Unanswered, the server refuses the socket or answers 500 itself.
            logger.exception("%s could not refuse access cleanly.", type(self))
        finally:
            self._auth_gate = _Gate.CLOSED
        if self._auth_open:
            self._auth_open = False
            await self._auth_send(
                {"type": "websocket.close", "code": self._close_code()}
            )
        raise StopConsumer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        """Serve through the gate; however serving ends, stop the socket's timer
        and leave its groups."""
        self._auth_send = send
        try:
            parent: Any = super()
            return await parent.__call__(scope, receive, self._agate)
        finally:
            await self._aend()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Check access on the connection's first message, before any handler;
        serve nothing after revocation; revalidate first when a re-check is due."""
        kind = message["type"]
        if self._auth_revoked and kind not in _ENDING:
            return
        if kind in _OPENING and self._auth_gate is _Gate.UNCHECKED:
            await self._aopen(kind)
        elif (
            kind == "websocket.receive"
            and self._auth_timer is not None
            and self._recheck_due(time.monotonic())
            and not await self._arevalidate()
        ):
            return
        try:
            await super().dispatch(message)
        finally:
            if kind in _ENDING:
                await self._aend()

    async def _aopen(self, kind: str) -> None:
        """Run the check; a socket's also joins its groups and starts its timer."""
        user = self._user()
        # Joining the groups before a fresh check leaves no moment in which a
        # logout could be sent to groups this socket is not in yet. The fresh
        # check also learns when the session expires.
        watch = kind == "websocket.connect" and user.is_authenticated
        if watch and self.channel_layer is not None:
            await self._ajoin_groups(user)
        if not await self._agranted(reload=watch):
            await self._aleave_groups()
            await self._arefuse()
        self._auth_checked_at = time.monotonic()
        self._auth_gate = _Gate.GRANTED
        if watch:
            self._auth_lock = asyncio.Lock()
            self._auth_timer = asyncio.get_running_loop().create_task(self._awatch())

    async def _aend(self) -> None:
        """Stop the timer and leave the groups, even in a consumer being cancelled."""
        self._astop_timer()
        if not self._auth_groups:
            return
        leaving = asyncio.ensure_future(self._aleave_groups())
        _leaving.add(leaving)
        leaving.add_done_callback(_leaving.discard)
        await asyncio.shield(leaving)

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
            with_groups=self.preload_groups,
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
        """Close the socket; nothing it receives or sends from now on is served."""
        if self._auth_revoked:
            return
        self._auth_revoked = True
        self._auth_gate = _Gate.CLOSED
        self._astop_timer()
        await self._aleave_groups()
        self._auth_open = False
        message: dict[str, Any] = {"type": "websocket.close", "code": code}
        if code in _REASONS:
            message["reason"] = _REASONS[code]
        await self._auth_send(message)

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
        """Leave every group; a group that cannot be left is logged, not raised."""
        groups, self._auth_groups = self._auth_groups, ()
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:
                logger.warning(
                    "%s could not leave its group %s: %r", type(self), group, exc
                )


class LoginRequiredMixin(AccessMixin):
    """Verify that the current user is authenticated."""

    async def check_access(self) -> bool:
        # Before the others, so that an anonymous user costs no other check.
        return await self._apasses(rules.login) and await super().check_access()


class PermissionRequiredMixin(rules.PermissionHooks, AccessMixin):
    """Verify that the current user has all specified permissions.

    ``get_permission_object()`` names the object the permissions are checked
    against (for object-permission backends); None checks model permissions.
    ``any_perm`` and ``accept_global_perms`` have django-guardian's meanings.
    """

    async def check_access(self) -> bool:
        return await super().check_access() and await self._apasses(rules.permissions)


class UserPassesTestMixin(rules.PassesTestHooks, AccessMixin):
    """Refuse the consumer unless ``test_func()`` returns True.

    ``test_func`` may be ``def`` (run in a thread) or ``async def``; its result
    is always awaited before it is judged.
    """

    async def check_access(self) -> bool:
        return await super().check_access() and await self._apasses(rules.passes_test)


class GroupRequiredMixin(rules.GroupHooks, AccessMixin):
    """Verify that the current user belongs to at least one of ``group_required``.

    Active superusers always pass. The group names are loaded with the user
    when it is re-resolved (``preload_groups``), so the check costs no query.
    """

    async def check_access(self) -> bool:
        return await super().check_access() and await self._apasses(rules.groups)


class SuperuserRequiredMixin(AccessMixin):
    """Verify that the current user is an active superuser."""

    async def check_access(self) -> bool:
        return await super().check_access() and await self._apasses(rules.superuser)


class StaffuserRequiredMixin(AccessMixin):
    """Verify that the current user is active staff (``is_staff``)."""

    async def check_access(self) -> bool:
        return await super().check_access() and await self._apasses(rules.staffuser)


__all__ = [
    "AccessMixin",
    "GroupRequiredMixin",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "StaffuserRequiredMixin",
    "SuperuserRequiredMixin",
    "UserPassesTestMixin",
]
