"""Ending open sockets when their session or user changes, through the channel layer.

A protected consumer joins two groups once it is past the access check: one
for its session and one for its user. Receivers on Django's signals send to
those groups with ``group_send``, so the message reaches the consumer in
whichever process holds it (``InMemoryChannelLayer`` in one process,
``channels_redis`` across processes):

- ``user_logged_out`` (``logout()`` and ``alogout()``): the session's sockets
  are closed with ``CLOSE_UNAUTHENTICATED``;
- ``post_save`` of the user model (password change, deactivation, any save):
  the user's sockets re-resolve their session and re-run their check;
- ``post_delete`` of the user model: the user's sockets are closed.

With no channel layer configured, consumers revalidate on received messages
instead (see ``revalidate_interval()``) and system check ``W101`` says so.
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
from django.contrib.auth.signals import user_logged_out
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models.signals import post_delete, post_save

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

DEFAULT_REVALIDATE_INTERVAL = 5.0

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
    """The group of the sockets opened by this user, whatever their session."""
    label = user._meta.label_lower
    return "async_auth.user." + sha256(f"{label}:{user.pk}".encode()).hexdigest()


def saved_session(session: SessionBase) -> SessionBase:
    """A new store for the same key: the session as saved now, not as loaded before."""
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session.session_key)
    return store


def revalidate_interval() -> float:
    """``ASYNC_AUTH_REVALIDATE_INTERVAL``: how often, at most, a socket with no
    channel layer re-checks its session, in seconds (default 5)."""
    interval = getattr(
        settings, "ASYNC_AUTH_REVALIDATE_INTERVAL", DEFAULT_REVALIDATE_INTERVAL
    )
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise ImproperlyConfigured(
            "ASYNC_AUTH_REVALIDATE_INTERVAL must be a number of seconds, not "
            f"{interval!r}."
        )
    return float(interval)


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

    Call it after changing users without signals (``QuerySet.update()``).
    """
    send_to_group(user_group(user), {"type": REVALIDATE})


def _logged_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    # Sent before the session is flushed: its key is still there. Channels'
    # own logout(scope) sends no request, and has no key to give.
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if session_key:
        revoke_session(session_key)


def _user_saved(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # After commit, so that the revalidating socket reads the new row.
    group = user_group(instance)
    transaction.on_commit(
        partial(send_to_group, group, {"type": REVALIDATE}), using=using
    )


def _user_deleted(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # The group is named now: Django clears instance.pk after the signal.
    group = user_group(instance)
    message = {"type": REVOKE, "code": CLOSE_UNAUTHENTICATED}
    transaction.on_commit(partial(send_to_group, group, message), using=using)


user_logged_out.connect(_logged_out, dispatch_uid=f"{__name__}.logged_out")
post_save.connect(
    _user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid=f"{__name__}.saved"
)
post_delete.connect(
    _user_deleted, sender=settings.AUTH_USER_MODEL, dispatch_uid=f"{__name__}.deleted"
)


@checks.register()
def check_channel_layer(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn that without a channel layer, revocation waits for the next message."""
    if DEFAULT_CHANNEL_LAYER in (getattr(settings, "CHANNEL_LAYERS", None) or {}):
        return []
    return [
        checks.Warning(
            "No channel layer is configured: sockets protected by "
            "async_auth_views.channels are closed after a logout, password change "
            "or deactivation only when they next receive a message, at most "
            "ASYNC_AUTH_REVALIDATE_INTERVAL seconds late.",
            hint="Set CHANNEL_LAYERS (channels_redis for more than one process).",
            id="async_auth_views.W101",
        )
    ]
