"""The session watch: what keeps an accepted socket's check true (internal).

One ``SessionWatch`` per protected consumer holds the watch's whole state; the
consumer gate (``channels.mixins``) starts it, asks it before a message, and
ends it. See docs/internals.rst, "Socket revocation".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from .._types import UserType
from ..identity import aresolve_session, seconds_left
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

# The consumer's logger: users configure it to see what happens to their sockets.
logger = logging.getLogger("async_auth_views.channels.mixins")

_REASONS = {CLOSE_UNAUTHENTICATED: "Session ended", CLOSE_FORBIDDEN: "Forbidden"}
# Re-check this long after the session's expiry, so that the store sees it expired.
_EXPIRY_MARGIN = 0.05
# Groups being left by a consumer that was cancelled meanwhile, kept referenced.
_leaving: set[asyncio.Task[None]] = set()

Send = Callable[[dict[str, Any]], Awaitable[None]]


class _Watched(Protocol):
    """What the watch asks of its consumer (the gate, ``channels.mixins.AccessMixin``)."""

    scope: Any
    channel_layer: Any
    channel_name: str
    preload_permissions: bool
    preload_groups: bool

    def _user(self) -> UserType: ...

    async def _acheck_access(self, *, reload: bool = False) -> object | None: ...

    def _close_gate(self) -> Send: ...


class SessionWatch:
    """An accepted socket's session watch: its groups, its timer, its re-checks."""

    __slots__ = (
        "checked_at",
        "consumer",
        "deadline",
        "groups",
        "lock",
        "revoked",
        "timer",
    )

    def __init__(self, consumer: _Watched) -> None:
        self.consumer = consumer
        #: The channel-layer groups joined, left on every exit path.
        self.groups: tuple[str, ...] = ()
        #: When the check last granted (``time.monotonic()``).
        self.checked_at: float | None = None
        #: Revoked: nothing the socket receives or sends is served any more.
        self.revoked = False
        #: When the session ends (``time.monotonic()``); None when its engine cannot tell.
        self.deadline: float | None = None
        self.timer: asyncio.Task[None] | None = None
        #: One re-check at a time (see arevalidate()).
        self.lock = asyncio.Lock()

    def start(self) -> None:
        """The check granted: start the timer that re-checks on its own."""
        self.checked_at = time.monotonic()
        self.timer = asyncio.get_running_loop().create_task(self._arun())

    async def aallows(self) -> bool:
        """Whether a received message may be served: revalidate first when due."""
        if self.timer is None or not self.recheck_due(time.monotonic()):
            return True
        return await self.arevalidate()

    async def areload(self) -> None:
        """Re-resolve ``scope["user"]`` from the saved session; learn when it ends."""
        consumer = self.consumer
        scope = cast(dict[str, Any], consumer.scope)
        scope["user"], expires_at = await aresolve_session(
            saved_session(scope["session"]),
            can_set_cookie=can_set_cookie(scope),
            with_permissions=consumer.preload_permissions,
            with_groups=consumer.preload_groups,
            with_expiry=True,
        )
        left = seconds_left(expires_at)
        # A session still valid past its stored expiry (a signed cookie's
        # set_expiry() is the browser's to enforce) is re-checked on the interval.
        self.deadline = None if left is None or left <= 0 else time.monotonic() + left

    async def arevalidate(self) -> bool:
        """Re-resolve the user from the saved session and re-run the check.

        One at a time: a re-check that started before a change must not
        finish after the one the change asked for and put the old user back.
        """
        async with self.lock:
            if self.revoked:
                return False
            before = self.consumer._user()
            denial = await self.consumer._acheck_access(reload=True)
            after = self.consumer._user()
            if before.is_authenticated and (
                not after.is_authenticated or after.pk != before.pk
            ):
                await self.arevoke(CLOSE_UNAUTHENTICATED)
                return False
            if denial is not None:
                await self.arevoke(CLOSE_FORBIDDEN)
                return False
            self.checked_at = time.monotonic()
            return True

    async def arevoke(self, code: int) -> None:
        """Close the socket; nothing it receives or sends from now on is served."""
        if self.revoked:
            return
        self.revoked = True
        send = self.consumer._close_gate()
        self.stop()
        await self.aleave()
        message: dict[str, Any] = {"type": "websocket.close", "code": code}
        if code in _REASONS:
            message["reason"] = _REASONS[code]
        await send(message)

    def recheck_due(self, now: float) -> bool:
        """Whether the interval since the last check has passed, or the session expired."""
        interval = revalidate_interval(self.consumer.channel_layer is not None)
        checked_at = self.checked_at
        return (checked_at is not None and now - checked_at >= interval) or (
            self.deadline is not None and now >= self.deadline + _EXPIRY_MARGIN
        )

    async def _arun(self) -> None:
        """Re-check on the interval and at the session's expiry; keep the groups.

        The timer that makes revocation independent of any one message: a
        revocation lost by the channel layer (a full channel, an expired group
        membership) is caught by the next re-check, and memberships are renewed
        before the layer's ``group_expiry`` ends them.
        """
        layer = self.consumer.channel_layer
        interval = revalidate_interval(layer is not None) or MIN_TICK
        renew_every = renew_interval(layer) if self.groups else None
        renewed_at = time.monotonic()
        try:
            while not self.revoked:
                wake = [(self.checked_at or renewed_at) + interval]
                if self.deadline is not None:
                    wake.append(self.deadline + _EXPIRY_MARGIN)
                if renew_every is not None:
                    wake.append(renewed_at + renew_every)
                await asyncio.sleep(max(min(wake) - time.monotonic(), 0))
                now = time.monotonic()
                if renew_every is not None and now >= renewed_at + renew_every:
                    renewed_at = now
                    await self._arenew()
                if self.recheck_due(now):
                    await self.arevalidate()
        except Exception:
            # A timer that cannot re-check could no longer revoke: fail closed.
            logger.exception("%s stopped re-checking its session.", type(self.consumer))
            await self.arevoke(CLOSE_FORBIDDEN)

    def stop(self) -> None:
        """Stop the timer (unless it is the caller)."""
        timer, self.timer = self.timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def ajoin(self, user: UserType) -> None:
        """Join the session's, the user's and everyone's groups, if there is a layer."""
        consumer = self.consumer
        if consumer.channel_layer is None:
            return
        session_key = consumer.scope["session"].session_key
        groups = [user_group(cast("Model", user)), EVERYONE_GROUP]
        if session_key:
            groups.append(session_group(session_key))
        self.groups = tuple(groups)
        for group in groups:
            await consumer.channel_layer.group_add(group, consumer.channel_name)

    async def _arenew(self) -> None:
        """Join the groups again: ``group_add`` restarts their ``group_expiry``."""
        consumer = self.consumer
        try:
            for group in self.groups:
                await consumer.channel_layer.group_add(group, consumer.channel_name)
        except Exception:
            # The interval's re-checks still bound how late a revocation is.
            logger.warning(
                "%s could not renew its revocation groups.",
                type(consumer),
                exc_info=True,
            )

    async def aleave(self) -> None:
        """Leave every group; a group that cannot be left is logged, not raised."""
        consumer = self.consumer
        groups, self.groups = self.groups, ()
        for group in groups:
            try:
                await consumer.channel_layer.group_discard(group, consumer.channel_name)
            except Exception as exc:
                logger.warning(
                    "%s could not leave its group %s: %r", type(consumer), group, exc
                )

    async def aend(self) -> None:
        """Stop the timer and leave the groups, even in a consumer being cancelled."""
        self.stop()
        if not self.groups:
            return
        leaving = asyncio.ensure_future(self.aleave())
        _leaving.add(leaving)
        leaving.add_done_callback(_leaving.discard)
        await asyncio.shield(leaving)


__all__ = ["SessionWatch"]
