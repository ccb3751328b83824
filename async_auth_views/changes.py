"""Which change of identity or authorization each of Django's signals means, decided once.

The identity cache and open sockets must react to exactly the same changes: a
change one of them misses is a way back in. So the signals are read here, and
only here, as five changes, each handed to both:

- **a session ended**: ``logout()``/``alogout()``, a session row deleted (any
  ``AbstractBaseSession`` model: a "sign out that device" page, the admin,
  ``QuerySet.delete()``), or a login that replaced the session whose cookie the
  browser sent (``flush()`` or ``cycle_key()`` in ``login()``, on every
  engine);
- **a session's expiry moved earlier**, to within the identity cache's
  timeout (``set_expiry()`` and a save, on a session model);
- **a user changed**: saved, or their groups or permissions changed;
- **a user was deleted**;
- **everyone changed**: a group or permission row, or a group's permissions.

Senders are matched by model *kind*, not identity: a proxy, a multi-table
child or a multi-table parent of the user model, of ``Group`` or of
``Permission`` counts as that model, since Django sends their signals with
the proxy or child as ``sender``.

The cache reacts at once and again when the transaction commits (a request
that read the old rows in between stamped its entry with the token the second
write replaces). Sockets are closed at once when a session ended or a user was
deleted, and re-check after the commit (after the cache, so that they read the
new rows, not a stale entry) when a user or everyone changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.utils import timezone

from . import conf, identity

if TYPE_CHECKING:
    from django.db.models import Model


class Reactions(Protocol):
    """What reacts to changes besides the identity cache (the sockets)."""

    def session_ended(self, session_key: str) -> None: ...
    def session_changed(self, session_key: str) -> None: ...
    def user_changed(self, user_pk: str) -> None: ...
    def user_deleted(self, user_pk: str) -> None: ...
    def everyone_changed(self) -> None: ...


class _Cache:
    """The identity cache's reactions."""

    def session_ended(self, session_key: str) -> None:
        identity.forget_session(session_key)

    session_changed = session_ended

    def user_changed(self, user_pk: str) -> None:
        identity.forget_user(user_pk)

    user_deleted = user_changed

    def everyone_changed(self) -> None:
        identity.forget_everyone()


_CACHE = _Cache()
_others: dict[str, Reactions] = {}
# Changes after which sockets close at once: no row needs to be re-read.
_AT_ONCE = ("session_ended", "user_deleted")


def react(name: str, reactions: Reactions) -> None:
    """Hand every change to ``reactions`` too (after the cache); idempotent by ``name``."""
    _others[name] = reactions


def announce(change: str, *args: str, using: str | None = None) -> None:
    """Hand ``change`` (a ``Reactions`` method name) to the cache and the others."""
    _call(_CACHE, change, args)
    if change in _AT_ONCE:
        for reactions in list(_others.values()):
            _call(reactions, change, args)

    def committed() -> None:
        _call(_CACHE, change, args)
        if change not in _AT_ONCE:
            for reactions in list(_others.values()):
                _call(reactions, change, args)

    transaction.on_commit(committed, using=using or DEFAULT_DB_ALIAS)


def _call(reactions: Any, change: str, args: tuple[str, ...]) -> None:
    getattr(reactions, change)(*args)


# After a change that sends no signal -----------------------------------------


def user_changed(user: Any, *, using: str | None = None) -> None:
    """Tell the identity cache and the open sockets that ``user`` changed.

    For what sends no signal: ``QuerySet.update()`` or raw SQL on users, and
    ``QuerySet.delete()`` or ``bulk_create()`` on the tables of ``user.groups``
    and ``user.user_permissions``. ``user`` is any instance naming the user
    (a proxy, a child) or its primary key. Entries naming the user are stale
    at once; the user's sockets re-check after the commit.
    """
    pk = user if isinstance(user, (str, int)) else identity.user_pk_string(user)
    announce("user_changed", str(pk), using=using)


def everyone_changed(*, using: str | None = None) -> None:
    """Tell the identity cache and the open sockets that groups or permissions changed.

    For what sends no signal: ``QuerySet.update()``, ``QuerySet.delete()`` or
    ``bulk_create()`` on groups, permissions or the table of
    ``Group.permissions``, or raw SQL. Every entry is stale at once; every
    protected socket re-checks after the commit.
    """
    announce("everyone_changed", using=using)


def session_ended(session_key: str) -> None:
    """Tell the identity cache and the open sockets that a session ended.

    For an engine that sends no signal (``cache``, ``file``) when you end a
    session yourself, and for ``QuerySet.update()`` on session rows.
    """
    announce("session_ended", session_key, using=_session_alias())


# Receivers ------------------------------------------------------------------


def _session_alias() -> str:
    if apps.is_installed("django.contrib.sessions"):
        from django.contrib.sessions.models import Session

        return router.db_for_write(Session)
    return DEFAULT_DB_ALIAS


def _logged_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    # Sent before the session is flushed: its key is still there. Channels'
    # own logout(scope) sends no request, and has no key to give.
    for key in _keys_of(request):
        announce("session_ended", key, using=_session_alias())


def _logged_in(sender: Any, request: Any = None, **kwargs: Any) -> None:
    # Sent after login() flushed or cycled the session: the key the browser
    # sent, if another, names a session that just ended. Read from the cookie,
    # this holds for every engine, with or without a delete signal.
    sent = _sent_key(request)
    if sent and sent != getattr(getattr(request, "session", None), "session_key", None):
        announce("session_ended", sent, using=_session_alias())


def _sent_key(request: Any) -> str | None:
    """The session key the browser sent with ``request``."""
    cookies = getattr(request, "COOKIES", None) or {}
    key = cookies.get(settings.SESSION_COOKIE_NAME)
    return key if isinstance(key, str) and key else None


def _keys_of(request: Any) -> set[str]:
    """The session's key now, and the key the browser sent if another."""
    keys = {getattr(getattr(request, "session", None), "session_key", None)}
    keys.add(_sent_key(request))
    return {key for key in keys if key}


def _session_deleted(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # An expired row (clearsessions) ended at its expiry already: its entries
    # and sockets did not outlive it, and nothing is sent per row.
    if instance.expire_date > timezone.now():
        announce("session_ended", instance.session_key, using=using)


def _session_saved(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # An entry lives at most the identity timeout; only an expiry moved to
    # within it can fall before an entry's end. Sessions saved with two weeks
    # ahead (each request, with SESSION_SAVE_EVERY_REQUEST) send nothing.
    horizon = timezone.now() + timedelta(seconds=identity.identity_timeout())
    if instance.expire_date < horizon:
        announce("session_changed", instance.session_key, using=using)


def _user_saved(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    announce("user_changed", identity.user_pk_string(instance), using=using)


def _user_deleted(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # The pk is read now: Django clears instance.pk after the signal.
    announce("user_deleted", identity.user_pk_string(instance), using=using)


def _user_relations_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[Any] | None,
    using: str,
    **kwargs: Any,
) -> None:
    if not action.startswith("post_") and action != "pre_clear":
        return
    if not reverse:
        announce("user_changed", identity.user_pk_string(instance), using=using)
    elif pk_set is not None:  # group.user_set.add(...) names the users
        for pk in pk_set:
            announce("user_changed", str(pk), using=using)
    else:  # group.user_set.clear(): whoever they were
        announce("everyone_changed", using=using)


def _everyone_changed(sender: Any, using: str, **kwargs: Any) -> None:
    action = kwargs.get("action")
    if action is None or action.startswith("post_") or action == "pre_clear":
        announce("everyone_changed", using=using)


def _kin(model: type[Model], of: type[Model]) -> bool:
    """Whether ``model`` is ``of``, a proxy or multi-table child of it, or a
    multi-table parent of it: whether its rows are ``of``'s rows."""
    concrete = model._meta.concrete_model
    assert concrete is not None
    return issubclass(concrete, of) or issubclass(of, concrete)


def _connect_each(
    signal: Any, receiver: Callable[..., None], of: type[Model], uid: str
) -> None:
    for model in apps.get_models():
        if _kin(model, of):
            signal.connect(
                receiver, sender=model, dispatch_uid=f"{uid}.{model._meta.label}"
            )


def connect_receivers() -> None:
    """Connect the receivers; idempotent.

    Called when the app is ready (with the identity cache or a channel layer
    configured) and when either setting changes, so that projects with
    neither pay nothing: a ``post_delete`` receiver on a session model turns
    ``clearsessions`` into a delete that loads the expired rows first. Senders
    are connected model by model (every installed kin of the user model,
    ``Group``, ``Permission``), never for all senders: a ``post_delete``
    receiver for all senders would slow every ``QuerySet.delete()``.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.signals import user_logged_in, user_logged_out
    from django.db.models.signals import m2m_changed, post_delete, post_save

    uid = f"{__name__}."
    user_model = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid=uid + "logged_out")
    user_logged_in.connect(_logged_in, dispatch_uid=uid + "logged_in")
    _connect_each(post_save, _user_saved, user_model, uid + "user.saved")
    _connect_each(post_delete, _user_deleted, user_model, uid + "user.deleted")
    for name in ("groups", "user_permissions"):
        try:
            through = user_model._meta.get_field(name).remote_field.through  # type: ignore[union-attr]
        except Exception:
            continue  # A user model without PermissionsMixin.
        m2m_changed.connect(
            _user_relations_changed, sender=through, dispatch_uid=uid + name
        )
    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.models import Group, Permission

        m2m_changed.connect(
            _everyone_changed,
            sender=Group.permissions.through,
            dispatch_uid=uid + "everyone.group_permissions",
        )
        for model in (Group, Permission):
            for event, signal in (("saved", post_save), ("deleted", post_delete)):
                _connect_each(
                    signal, _everyone_changed, model, f"{uid}everyone.{event}"
                )
    if apps.is_installed("django.contrib.sessions"):
        from django.contrib.sessions.base_session import AbstractBaseSession

        _connect_each(
            post_delete, _session_deleted, AbstractBaseSession, uid + "session"
        )
        _connect_each(
            post_save, _session_saved, AbstractBaseSession, uid + "session.saved"
        )


def wanted() -> bool:
    """Whether anything reacts to changes: the identity cache or a channel layer."""
    if conf.raw(conf.IDENTITY_CACHE) is not None:
        return True
    return "default" in (getattr(settings, "CHANNEL_LAYERS", None) or {})


def connect_when_enabled(setting: str, value: Any, **kwargs: Any) -> None:
    """``setting_changed`` receiver: connect once the cache or a layer is set."""
    if setting in (conf.IDENTITY_CACHE.name, "CHANNEL_LAYERS") and value:
        connect_receivers()


__all__ = [
    "Reactions",
    "announce",
    "connect_receivers",
    "everyone_changed",
    "react",
    "session_ended",
    "user_changed",
]
