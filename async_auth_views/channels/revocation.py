"""Ending open sockets when their session or user changes, through the channel layer.

A protected consumer joins three groups once it is past the access check: one
for its session, one for its user, and one for every protected socket. It
reacts to the changes ``async_auth_views.changes`` reads from Django's signals
(the same ones the identity cache reacts to), sent to those groups with
``group_send``, so the message reaches the consumer in whichever process holds
it (``InMemoryChannelLayer`` in one process, ``channels_redis`` across
processes):

- a session ended (``logout()``, its row deleted, replaced by a login): its
  sockets are closed with ``CLOSE_UNAUTHENTICATED``;
- a user changed (saved, groups or permissions changed, through any proxy or
  child model): the user's sockets re-resolve their session and re-run their
  check; a group's or a permission's rows changed: every socket does;
- a user was deleted: the user's sockets are closed.

A message can be lost (a group membership expired, a full channel, a layer
that was down): so every socket also re-checks on its own, every
``revalidate_interval()`` seconds, renews its group memberships before
``group_expiry`` ends them, and re-checks when its session expires.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from hashlib import sha256
from importlib import import_module
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import get_channel_layer
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from .. import conf
from ..changes import react
from ..identity import user_pk_string

if TYPE_CHECKING:
    from django.contrib.sessions.backends.base import SessionBase
    from django.db.models import Model

logger = logging.getLogger(__name__)

#: Close code of a socket whose session no longer names its user: logged out,
#: password changed, user deactivated or deleted, session expired or replaced.
CLOSE_UNAUTHENTICATED = 4401
#: Close code of a socket whose user is still logged in but no longer passes
#: the consumer's check (permission removed, ``test_func`` false or raising).
CLOSE_FORBIDDEN = 4403

#: Channel-layer message types; Channels dispatches them to the consumer's
#: ``async_auth_revoke()`` and ``async_auth_revalidate()``.
REVOKE = "async_auth.revoke"
REVALIDATE = "async_auth.revalidate"

#: The group every protected socket joins: "everyone changed" is sent to it.
EVERYONE_GROUP = "async_auth.everyone"

DEFAULT_REVALIDATE_INTERVAL = 5.0
DEFAULT_REVALIDATE_INTERVAL_WITH_LAYER = 60.0
#: The shortest time between two re-checks a socket makes on its own.
MIN_TICK = 0.5

# Tasks scheduled from a receiver called in the event loop's own thread, kept
# referenced until done so that they are not garbage-collected half-way.
_pending: set[asyncio.Task[None]] = set()


def session_group(session_key: str) -> str:
    """The group of the sockets opened with this session.

    The key is hashed: group names must be short ASCII, and a session key
    must not appear in Redis where other clients can list it.
    """
    return "async_auth.session." + sha256(session_key.encode()).hexdigest()


def user_group(user: Model) -> str:
    """The group of the sockets opened by this user, whatever their session.

    Named after the user model and the user's primary key, so that an instance
    of a proxy, a multi-table child or parent of the user model names the
    same group as the user itself.
    """
    return _user_group(user_pk_string(user))


def _user_group(user_pk: str) -> str:
    label = settings.AUTH_USER_MODEL.lower()
    return "async_auth.user." + sha256(f"{label}:{user_pk}".encode()).hexdigest()


def saved_session(session: SessionBase) -> SessionBase:
    """A new store for the same key: the session as saved now, not as loaded before."""
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session.session_key)
    return store


def revalidate_interval(with_layer: bool = False) -> float:
    """``ASYNC_AUTH_REVALIDATE_INTERVAL``: how often a socket re-checks its session
    on its own, in seconds.

    The default is 5 without a channel layer (the only way a socket learns of a
    change) and 60 with one (a backstop for a lost message). 0 re-checks
    before every message received; the socket's own timer then re-checks
    every ``MIN_TICK`` seconds.
    """
    default = (
        DEFAULT_REVALIDATE_INTERVAL_WITH_LAYER
        if with_layer
        else DEFAULT_REVALIDATE_INTERVAL
    )
    interval = conf.revalidate_interval()
    return default if interval is None else interval


def renew_interval(layer: Any) -> float | None:
    """How often a socket renews its group memberships on ``layer``, in seconds:
    half the layer's ``group_expiry``, so that a membership never expires while
    the socket is open; None for a layer whose memberships do not expire."""
    expiry = getattr(layer, "group_expiry", None)
    if isinstance(expiry, bool) or not isinstance(expiry, (int, float)):
        return None
    return max(float(expiry) / 2, 0.05)


def send_to_group(group: str, message: dict[str, Any]) -> None:
    """``group_send`` from sync code, in or out of an event loop's thread.

    Out of one (a sync view, a receiver run by ``asend()`` through
    ``sync_to_async``) the send completes before returning. In the loop's own
    thread it cannot block, so it is scheduled as a task. A failing layer is
    logged, not raised: the logout or save that triggered it must still happen.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            logger.exception("Could not send %s to %s.", message["type"], group)
        return
    task = loop.create_task(layer.group_send(group, message))
    _pending.add(task)
    task.add_done_callback(partial(_sent, message["type"], group))


def _sent(message_type: str, group: str, task: asyncio.Task[None]) -> None:
    """Forget a scheduled send; log its failure as a send from sync code is logged."""
    _pending.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("Could not send %s to %s.", message_type, group, exc_info=error)


def revoke_session(session_key: str) -> None:
    """Close every protected socket opened with this session."""
    send_to_group(
        session_group(session_key), {"type": REVOKE, "code": CLOSE_UNAUTHENTICATED}
    )


def revoke_user(user: Model) -> None:
    """Close every protected socket of this user."""
    send_to_group(user_group(user), {"type": REVOKE, "code": CLOSE_UNAUTHENTICATED})


def revalidate_user(user: Model) -> None:
    """Make every protected socket of this user re-check its session and access.

    Call it after changing users without signals (``QuerySet.update()``). Any
    instance naming the user will do: a proxy or multi-table child too.
    """
    send_to_group(user_group(user), {"type": REVALIDATE})


def revalidate_everyone() -> None:
    """Make every protected socket re-check its session and access.

    Call it after changing groups or permissions without signals.
    """
    send_to_group(EVERYONE_GROUP, {"type": REVALIDATE})


class _Sockets:
    """The sockets' reactions to ``async_auth_views.changes``."""

    def session_ended(self, session_key: str) -> None:
        revoke_session(session_key)

    def session_changed(self, session_key: str) -> None:
        send_to_group(session_group(session_key), {"type": REVALIDATE})

    def user_changed(self, user_pk: str) -> None:
        send_to_group(_user_group(user_pk), {"type": REVALIDATE})

    def user_deleted(self, user_pk: str) -> None:
        message = {"type": REVOKE, "code": CLOSE_UNAUTHENTICATED}
        send_to_group(_user_group(user_pk), message)

    def everyone_changed(self) -> None:
        revalidate_everyone()


react("sockets", _Sockets())

#: Whether this process built a door of the Channels integration.
_in_use = False


def integration_used() -> None:
    """Called when ``AuthMiddleware`` or a protected consumer is built (see W101)."""
    global _in_use
    _in_use = True


def in_use() -> bool:
    """Whether the project protects sockets with this library.

    True once this process built ``AuthMiddleware`` or a consumer with our
    mixins, or when importing the application ``ASGI_APPLICATION`` names
    (daphne's and Channels' setting) builds one, as Django's URL checks
    import ``ROOT_URLCONF``. One that fails to import is left to the server
    that serves it.
    """
    path = getattr(settings, "ASGI_APPLICATION", None)
    if not _in_use and isinstance(path, str) and path:
        try:
            import_string(path)
        except Exception:
            logger.debug("ASGI_APPLICATION %r could not be imported.", path)
    return _in_use


@checks.register()
def check_channel_layer(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn that without a channel layer, revocation waits for a re-check.

    Only in a project that protects sockets with this library (``in_use()``):
    one that serves HTTP only has no socket to warn about.
    """
    if DEFAULT_CHANNEL_LAYER in (getattr(settings, "CHANNEL_LAYERS", None) or {}):
        return []
    if not in_use():
        return []
    return [
        checks.Warning(
            "No channel layer is configured: sockets protected by "
            "async_auth_views.channels are closed after a logout, password change "
            "or deactivation only when they next re-check their session, up to "
            "ASYNC_AUTH_REVALIDATE_INTERVAL seconds late.",
            hint="Set CHANNEL_LAYERS (channels_redis for more than one process).",
            id="async_auth_views.W101",
        )
    ]
