"""The consumer access mixins: the view mixins' checks, enforced at the ASGI ``send``.

The gate (``AccessMixin``) checks the connection's first message before any
handler sees it and lets nothing leave before the check granted; an accepted
socket's ``SessionWatch`` (``channels.watch``) keeps the check true after.
Only async consumers are supported. See docs/channels.rst and docs/internals.rst.
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING, Any, cast

from channels.consumer import AsyncConsumer, SyncConsumer
from channels.exceptions import StopConsumer
from django.core.exceptions import ImproperlyConfigured
from django.views import View

from .. import rules
from .._types import UserType
from ..conf import require_setup
from ..hooks import acall, is_overridden
from ..rules import Denial
from ._http import aanswer
from .revocation import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, integration_used
from .watch import Send, SessionWatch

if TYPE_CHECKING:
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


def _close_code(denial: Denial) -> int:
    """A refused socket's close code: 4401 when the user must log in, else 4403."""
    return CLOSE_UNAUTHENTICATED if denial is Denial.LOGIN else CLOSE_FORBIDDEN


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

    _auth_gate: _Gate = _Gate.UNCHECKED
    #: The server's ``send``, behind the gate.
    _auth_send: Send
    #: A handshake accepted and not closed since.
    _auth_open: bool = False
    #: Why the check being answered refused; None outside a refusal.
    _auth_denial: Denial | None = None
    #: The session watch, once one was needed (an authenticated socket).
    _session_watch: SessionWatch | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if issubclass(cls, View):
            raise rules.misplaced_mixin(
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
        """Whether ``rule`` grants ``scope["user"]`` this consumer; a refusal is
        kept, to be answered."""
        self._auth_denial = await rule.acheck(self, self._user())
        return self._auth_denial is None

    async def handle_no_permission(self) -> None:
        """Refuse: close the socket, or answer the request with a redirect, 403 or 404.

        An unaccepted socket is closed with ``CLOSE_UNAUTHENTICATED`` when the
        user must log in and ``CLOSE_FORBIDDEN`` otherwise; an HTTP request gets
        the view mixins' answer. It may be overridden as ``def`` (run in a
        thread) or ``async def``; a socket it accepts is closed after it.
        """
        denial = self._denial()
        if self.scope["type"] == "websocket":
            await self._agate({"type": "websocket.close", "code": _close_code(denial)})
            return
        status, body, headers = await aanswer(self, denial)
        await self._agate(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await self._agate({"type": "http.response.body", "body": body})

    def _denial(self) -> Denial:
        """The refusal being answered; when none was kept (the check raised, or
        ``check_access()`` refused by itself), as Django decides from the user."""
        return self._auth_denial or rules.denial_for(self._user())

    async def _acheck_access(self, *, reload: bool = False) -> Denial | None:
        """Run the check (re-resolving the user first if ``reload``): None grants,
        else the refusal to answer. An error refuses."""
        self._auth_denial = None
        try:
            if reload:
                await self._watch().areload()
            if await acall(self.check_access, inline=True, check=True):
                self._auth_denial = None
                return None
        except Exception:
            logger.exception("%s refused access: its check raised.", type(self))
            self._auth_denial = None
        return self._denial()

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

    def _close_gate(self) -> Send:
        """Let nothing through from now on (revoked); the server's ``send``, to close with."""
        self._auth_gate = _Gate.CLOSED
        self._auth_open = False
        return self._auth_send

    async def _adeny(self, denial: Denial) -> None:
        """Answer ``denial`` through ``handle_no_permission()``, then end the consumer."""
        self._auth_denial = denial
        self._auth_gate = _Gate.REFUSING
        try:
            await acall(
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
                {"type": "websocket.close", "code": _close_code(denial)}
            )
        raise StopConsumer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        """Serve through the gate; however serving ends, stop the socket's watch
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
        watch = self._session_watch
        if watch is not None and watch.revoked and kind not in _ENDING:
            return
        if kind in _OPENING and self._auth_gate is _Gate.UNCHECKED:
            await self._aopen(kind)
        elif (
            kind == "websocket.receive"
            and watch is not None
            and not await watch.aallows()
        ):
            return
        try:
            await super().dispatch(message)
        finally:
            if kind in _ENDING:
                await self._aend()

    async def _aopen(self, kind: str) -> None:
        """Run the check; a socket's session watch also joins its groups and starts."""
        user = self._user()
        # Joining the groups before a fresh check leaves no moment in which a
        # logout could be sent to groups this socket is not in yet. The fresh
        # check also learns when the session expires.
        watch = None
        if kind == "websocket.connect" and user.is_authenticated:
            watch = self._watch()
            await watch.ajoin(user)
        denial = await self._acheck_access(reload=watch is not None)
        if denial is not None:
            if watch is not None:
                await watch.aleave()
            await self._adeny(denial)
        self._auth_gate = _Gate.GRANTED
        if watch is not None:
            watch.start()

    def _watch(self) -> SessionWatch:
        """The session watch, made on first use."""
        if self._session_watch is None:
            self._session_watch = SessionWatch(self)
        return self._session_watch

    async def _aend(self) -> None:
        """Stop the watch and leave its groups, even in a consumer being cancelled."""
        if self._session_watch is not None:
            await self._session_watch.aend()

    async def async_auth_revoke(self, message: dict[str, Any]) -> None:
        """Channel-layer handler: the session ended or the user is gone."""
        await self._watch().arevoke(int(message.get("code", CLOSE_UNAUTHENTICATED)))

    async def async_auth_revalidate(self, message: dict[str, Any]) -> None:
        """Channel-layer handler: the user changed; re-resolve and re-check."""
        await self._watch().arevalidate()


class LoginRequiredMixin(AccessMixin):
    """Verify that the current user is authenticated."""

    async def check_access(self) -> bool:
        return await self._apasses(rules.login_rule) and await super().check_access()


class PermissionRequiredMixin(rules.PermissionHooks, AccessMixin):
    """Verify that the current user has all specified permissions.

    ``get_permission_object()`` names the object the permissions are checked
    against (for object-permission backends); None checks model permissions.
    ``any_perm``, ``accept_global_perms`` and ``return_404`` have
    django-guardian's meanings.
    """

    #: True: an authenticated user who is refused gets 404 from an HTTP
    #: consumer instead of 403 (a socket is closed with ``CLOSE_FORBIDDEN``).
    return_404: bool = False

    async def check_access(self) -> bool:
        return (
            await self._apasses(rules.permission_rule) and await super().check_access()
        )


class UserPassesTestMixin(rules.PassesTestHooks, AccessMixin):
    """Refuse the consumer unless ``test_func()`` returns True.

    ``test_func`` may be ``def`` (run in a thread) or ``async def``; its result
    is always awaited before it is judged.
    """

    async def check_access(self) -> bool:
        return await self._apasses(rules.test_rule) and await super().check_access()


class GroupRequiredMixin(rules.GroupHooks, AccessMixin):
    """Verify that the current user belongs to at least one of ``group_required``.

    Active superusers always pass. The group names are loaded with the user
    when it is re-resolved (``preload_groups``), so the check costs no query.
    """

    async def check_access(self) -> bool:
        return await self._apasses(rules.group_rule) and await super().check_access()


class SuperuserRequiredMixin(AccessMixin):
    """Verify that the current user is an active superuser."""

    async def check_access(self) -> bool:
        return (
            await self._apasses(rules.superuser_rule) and await super().check_access()
        )


class StaffuserRequiredMixin(AccessMixin):
    """Verify that the current user is active staff (``is_staff``)."""

    async def check_access(self) -> bool:
        return await self._apasses(rules.staff_rule) and await super().check_access()


__all__ = [
    "AccessMixin",
    "GroupRequiredMixin",
    "LoginRequiredMixin",
    "PermissionRequiredMixin",
    "StaffuserRequiredMixin",
    "SuperuserRequiredMixin",
    "UserPassesTestMixin",
]
