"""Which change of identity or authorization each of Django's signals means, decided once.

Private to ``async_auth_views.identity``. Five changes (a session ended, a
session's expiry moved earlier, a user changed, a user was deleted, everyone
changed) go to the identity cache and to every listener (the sockets), at
once and again after the commit (docs/internals.rst, "Changes").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models import ForeignKey, ManyToManyField
from django.utils import timezone

from .. import conf
from ._cache import forget_everyone, forget_session, forget_user
from ._commits import on_commit
from ._entries import user_pk_string

if TYPE_CHECKING:
    from django.db.models import Model


class Listener(Protocol):
    """What reacts to changes besides the identity cache (the sockets)."""

    def session_ended(self, session_key: str) -> None: ...
    def session_changed(self, session_key: str) -> None: ...
    def user_changed(self, user_pk: str) -> None: ...
    def user_deleted(self, user_pk: str) -> None: ...
    def everyone_changed(self) -> None: ...


class _CacheListener:
    """The identity cache's reactions."""

    def session_ended(self, session_key: str) -> None:
        forget_session(session_key)

    session_changed = session_ended

    def user_changed(self, user_pk: str) -> None:
        forget_user(user_pk)

    user_deleted = user_changed

    def everyone_changed(self) -> None:
        forget_everyone()


_CACHE = _CacheListener()
_listeners: dict[str, Listener] = {}
# Changes after which sockets close at once: no row needs to be re-read.
_AT_ONCE = ("session_ended", "user_deleted")


def subscribe(name: str, listener: Listener) -> None:
    """Hand every change to ``listener`` too (after the cache); idempotent by ``name``."""
    _listeners[name] = listener


def _notify(change: str, *args: str, using: str | None = None) -> None:
    """Hand ``change`` (a ``Listener`` method name) to the cache and the listeners."""
    _call(_CACHE, change, args)
    if change in _AT_ONCE:
        for listener in list(_listeners.values()):
            _call(listener, change, args)

    def committed() -> None:
        _call(_CACHE, change, args)
        if change not in _AT_ONCE:
            for listener in list(_listeners.values()):
                _call(listener, change, args)

    on_commit(committed, using or DEFAULT_DB_ALIAS)


def _call(listener: Any, change: str, args: tuple[str, ...]) -> None:
    getattr(listener, change)(*args)


# After a change that sends no signal -----------------------------------------


def user_changed(user: Any, *, using: str | None = None) -> None:
    """Tell the identity cache and the open sockets that ``user`` changed.

    For what sends no signal: ``QuerySet.update()`` or raw SQL on users, and
    ``QuerySet.update()`` or ``bulk_create()`` on the tables of ``user.groups``
    and ``user.user_permissions``. ``user`` is any instance naming the user
    (a proxy, a child) or its primary key, in any form its field accepts (a
    ``UUID`` or its str in any case, an int or its str). Entries naming the
    user are stale at once; the user's sockets re-check after the commit.
    """
    from django.contrib.auth import get_user_model
    from django.db.models import Model

    user_model = get_user_model()
    if isinstance(user, Model) and not _same_rows(type(user), user_model):
        raise TypeError(
            "user_changed() takes a user (an instance of "
            f"{user_model._meta.label}, a proxy or a child of it) or its primary "
            f"key, not a {type(user).__name__}."
        )
    _notify("user_changed", user_pk_string(user), using=using)


def everyone_changed(*, using: str | None = None) -> None:
    """Tell the identity cache and the open sockets that groups or permissions changed.

    For what sends no signal: ``QuerySet.update()`` on groups or permissions,
    ``QuerySet.update()`` or ``bulk_create()`` on the table of
    ``Group.permissions``, or raw SQL. Every entry is stale at once; every
    protected socket re-checks after the commit.
    """
    _notify("everyone_changed", using=using)


def session_ended(session_key: str) -> None:
    """Tell the identity cache and the open sockets that a session ended.

    For an engine that sends no signal (``cache``, ``file``) when you end a
    session yourself, and for ``QuerySet.update()`` on session rows.
    """
    _notify("session_ended", session_key, using=_session_alias())


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
        _notify("session_ended", key, using=_session_alias())


def _logged_in(sender: Any, request: Any = None, **kwargs: Any) -> None:
    # Sent after login() flushed or cycled the session: the key the browser
    # sent, if another, names a session that just ended. Read from the cookie,
    # this holds for every engine, with or without a delete signal.
    sent = _sent_key(request)
    if sent and sent != getattr(getattr(request, "session", None), "session_key", None):
        _notify("session_ended", sent, using=_session_alias())


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
        _notify("session_ended", instance.session_key, using=using)


def session_save_announced(instance: Any) -> bool:
    """Whether saving the session row ``instance`` is a change to announce.

    An entry lives at most the identity timeout; only an expiry moved to
    within it can fall before an entry's end. Sessions saved with two weeks
    ahead (each request, with SESSION_SAVE_EVERY_REQUEST) send nothing.
    """
    horizon = timezone.now() + timedelta(seconds=conf.identity_cache_timeout())
    return bool(instance.expire_date < horizon)


def _session_saved(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    if session_save_announced(instance):
        _notify("session_changed", instance.session_key, using=using)


def _user_saved(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    _notify("user_changed", user_pk_string(instance), using=using)


def _user_deleted(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    # The pk is read now: Django clears instance.pk after the signal.
    _notify("user_deleted", user_pk_string(instance), using=using)


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
        _notify("user_changed", user_pk_string(instance), using=using)
    elif pk_set is not None:  # group.user_set.add(...) names the users
        _users_changed(_user_fk(sender), pk_set, using)
    else:  # group.user_set.clear(): whoever they were
        _notify("everyone_changed", using=using)


# The tables of user.groups and user.user_permissions, by concrete model: the
# foreign key that names the user. The rows of an explicit through model
# (ManyToManyField(through=...)) are saved and deleted as rows too: by the
# project's code, an admin inline, a QuerySet.delete(). Django sends
# post_save/post_delete for them, not m2m_changed. (It sends neither for the
# rows of an auto-created table: only m2m_changed, from the related managers.)
_relations: dict[type[Model], ForeignKey[Any, Any]] = {}
# Models whose deletion announces the change itself: a row deleted in a cascade
# from them needs no announcement of its own (one per row, for nothing).
_announcing: list[type[Model]] = []


def _user_fk(through: type[Model]) -> ForeignKey[Any, Any] | None:
    return _relations.get(through._meta.concrete_model)  # type: ignore[arg-type]


def _users_changed(
    fk: ForeignKey[Any, Any] | None, values: Iterable[Any], using: str
) -> None:
    """Announce the users the ``fk`` values name; everyone when they name users
    by another field than the primary key (``to_field``)."""
    if fk is None or not fk.target_field.primary_key:
        _notify("everyone_changed", using=using)
        return
    for value in values:
        _notify("user_changed", user_pk_string(value), using=using)


def _row_saving(
    sender: Any,
    instance: Any,
    using: str,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    # A membership saved in place may name another user now: the one it named
    # before changed too, and only the database still knows who that was.
    fk = _user_fk(sender)
    if fk is None or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not {fk.name, fk.attname} & set(update_fields):
        return
    before = (
        sender._base_manager.using(using)
        .filter(pk=instance.pk)
        .values_list(fk.attname, flat=True)
        .first()
    )
    if before is not None and before != getattr(instance, fk.attname):
        _users_changed(fk, [before], using)


def _row_changed(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    origin = kwargs.get("origin")
    if origin is not None:
        model = getattr(origin, "model", type(origin))  # a QuerySet or an instance
        if any(_same_rows(model, of) for of in _announcing):
            return
    fk = _user_fk(sender)
    _users_changed(fk, [] if fk is None else [getattr(instance, fk.attname)], using)


def _everyone_changed(sender: Any, using: str, **kwargs: Any) -> None:
    action = kwargs.get("action")
    if action is None or action.startswith("post_") or action == "pre_clear":
        _notify("everyone_changed", using=using)


def _same_rows(model: type[Model], of: type[Model]) -> bool:
    """Whether ``model`` is ``of``, a proxy or multi-table child of it, or a
    multi-table parent of it: whether its rows are ``of``'s rows."""
    concrete = model._meta.concrete_model
    assert concrete is not None
    return issubclass(concrete, of) or issubclass(of, concrete)


def _connect_each(
    signal: Any, receiver: Callable[..., None], of: type[Model], uid: str
) -> None:
    for model in apps.get_models():
        if _same_rows(model, of):
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
    _announcing[:] = [user_model]
    for name in ("groups", "user_permissions"):
        field = _many_to_many(user_model, name)
        if field is None:
            continue  # A user model without PermissionsMixin.
        through: type[Model] = field.remote_field.through  # type: ignore[assignment]
        fk = through._meta.get_field(field.m2m_field_name())
        assert isinstance(fk, ForeignKey) and through._meta.concrete_model
        _relations[through._meta.concrete_model] = fk
        m2m_changed.connect(
            _user_relations_changed, sender=through, dispatch_uid=uid + name
        )
        if not through._meta.auto_created:
            _connect_rows(through, f"{uid}{name}.rows")
    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.models import Group, Permission

        _announcing.extend((Group, Permission))
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


def _many_to_many(model: type[Model], name: str) -> ManyToManyField[Any, Any] | None:
    """``model``'s many-to-many field ``name``, or None when it has none."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, ManyToManyField) else None


def _connect_rows(through: type[Model], uid: str) -> None:
    """React to rows of the explicit ``through`` (and its proxies) saved or deleted."""
    from django.db.models.signals import post_delete, post_save, pre_save

    _connect_each(pre_save, _row_saving, through, uid + ".saving")
    _connect_each(post_save, _row_changed, through, uid + ".saved")
    _connect_each(post_delete, _row_changed, through, uid + ".deleted")


def connect_when_enabled(setting: str, value: Any, **kwargs: Any) -> None:
    """``setting_changed`` receiver: connect once the cache or a layer is set."""
    if setting in (conf.IDENTITY_CACHE.name, "CHANNEL_LAYERS") and value:
        connect_receivers()
