"""Native mode gives Django's verdict, or takes the thread hop: never another answer.

Each case is resolved twice from the same committed session: natively
(``aresolve_native()``, on a loop no sync thread waits on) and by Django's
own ``get_user()``. A native answer must be Django's user (same class, same
row) or ``AnonymousUser`` where Django's is; where Django would write (cycle
or flush the session) or raise, the native path must decline (None).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDb
from django.contrib.sessions.backends.db import SessionStore as Db
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from async_auth_views.groups import GROUP_NAMES
from async_auth_views.identity import aresolve_session
from async_auth_views.identity._native import aresolve_native

from .support import (
    MODEL_BACKEND,
    native_sql,
    needs_async_engine,
    on_new_loop,
    session_for,
)

pytestmark = [needs_async_engine, pytest.mark.django_db(transaction=True)]

OWN_GET_USER = "tests.native.backends.OwnGetUser"
ALLOW_ALL = "django.contrib.auth.backends.AllowAllUsersModelBackend"
BACKENDS = [MODEL_BACKEND, OWN_GET_USER, ALLOW_ALL]


class _Holder:
    def __init__(self, session: Any) -> None:
        self.session = session


def verdicts(key: str, store: type = Db, **options: bool) -> tuple[Any, Any, Any]:
    """(native user or None, Django's user, the native store) for session ``key``."""
    native_store = store(key)
    native = on_new_loop(aresolve_native, native_store, **options)
    django_user = auth.get_user(_Holder(store(key)))  # type: ignore[arg-type]
    return (None if native is None else native[0]), django_user, native_store


def assert_same_user(native: Any, django_user: Any) -> None:
    assert type(native) is type(django_user)
    if isinstance(django_user, AnonymousUser):
        return
    fields = [f.attname for f in type(django_user)._meta.concrete_fields]
    assert [getattr(native, f) for f in fields] == [
        getattr(django_user, f) for f in fields
    ]
    assert native._state.db == django_user._state.db
    assert native._state.adding is False


def alice(**fields: Any) -> User:
    return User.objects.create_user("alice", password="pw", **fields)


CASES: dict[str, Callable[[], str]] = {
    "active user": lambda: session_for(alice()),
    "superuser": lambda: session_for(
        User.objects.create_superuser("root", password="pw")
    ),
    "inactive user": lambda: session_for(alice(is_active=False)),
    "inactive user, a backend that allows them": lambda: session_for(
        alice(is_active=False), backend=ALLOW_ALL
    ),
    "deleted user": lambda: _deleted(),
    "no user in the session": lambda: session_for(None, other="x"),
    "a backend no longer configured": lambda: session_for(
        alice(), backend="django.contrib.auth.backends.RemoteUserBackend"
    ),
    "a forged session key": lambda: "x" * 32,
    "an expired session": lambda: _expired(),
    "cached_db, from the cache": lambda: _cached(),
}
DECLINED: dict[str, Callable[[], str]] = {
    "the password changed since login (Django flushes)": lambda: _password_changed(),
    "no session hash (Django flushes)": lambda: session_for(
        alice(), **{HASH_SESSION_KEY: None}
    ),
    "a forged session hash (Django flushes)": lambda: session_for(
        alice(), **{HASH_SESSION_KEY: "0" * 64}
    ),
    "a hash only a fallback key verifies (Django cycles the key)": lambda: _rotated(),
    "a malformed user id (Django raises)": lambda: session_for(
        None,
        **{SESSION_KEY: "not-a-number", BACKEND_SESSION_KEY: MODEL_BACKEND},
    ),
    "a backend with its own get_user()": lambda: session_for(
        alice(), backend=OWN_GET_USER
    ),
}


def _deleted() -> str:
    user = alice()
    key = session_for(user)
    user.delete()
    return key


def _expired() -> str:
    key = session_for(alice())
    Db.get_model_class().objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    return key


def _cached() -> str:
    key = session_for(alice(), store=CachedDb)
    # The row's data now differs from the cache's: the cache must answer.
    Db.get_model_class().objects.filter(session_key=key).update(session_data="")
    return key


def _password_changed() -> str:
    user = alice()
    key = session_for(user)
    user.set_password("new")
    user.save()
    return key


def _rotated() -> str:
    with override_settings(
        SECRET_KEY="old-key-old-key-old-key-old-key-old-key-old-key"
    ):
        return session_for(alice())


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    settings.SECRET_KEY_FALLBACKS = ["old-key-old-key-old-key-old-key-old-key-old-key"]
    cache.clear()


@pytest.mark.parametrize("case", list(CASES))
def test_native_gives_djangos_verdict(case: str) -> None:
    store = CachedDb if "cached_db" in case else Db
    native, django_user, _ = verdicts(CASES[case](), store)
    assert native is not None, f"{case}: declined, but native mode can answer it"
    assert_same_user(native, django_user)


@pytest.mark.parametrize("case", list(DECLINED))
def test_native_declines_where_django_writes_or_raises(case: str) -> None:
    key = DECLINED[case]()
    native_store = Db(key)
    assert on_new_loop(aresolve_native, native_store) is None
    # Nothing was written: the thread hop finds the session as it was.
    assert Db.get_model_class().objects.filter(session_key=key).exists()


def test_the_hop_after_a_decline_gives_djangos_answer() -> None:
    """Through the resolver: a fallback key's session is cycled, as Django does."""
    key = _rotated()
    store = Db(key)
    user, _ = on_new_loop(aresolve_session, store, with_expiry=True)
    assert user.username == "alice"
    assert store.session_key != key  # cycled, in the thread hop


def test_permissions_and_groups_are_djangos() -> None:
    user = alice()
    editors = Group.objects.create(name="editors")
    user.groups.add(editors)
    user.user_permissions.add(Permission.objects.get(codename="add_user"))
    editors.permissions.add(Permission.objects.get(codename="change_group"))
    key = session_for(user)
    with native_sql() as statements:
        native, django_user, _ = verdicts(key, with_permissions=True, with_groups=True)
    # The session, the user, the permissions, the group names: one each.
    assert len(statements) == 4
    assert native._perm_cache == django_user.get_all_permissions()
    assert native._user_perm_cache == django_user.get_user_permissions()
    assert getattr(native, GROUP_NAMES) == frozenset({"editors"})


def test_a_db_session_row_gives_the_expiry_in_the_same_statement() -> None:
    key = session_for(alice())
    expected = Db.get_model_class().objects.get(session_key=key).expire_date
    with native_sql() as statements:
        native = on_new_loop(aresolve_native, Db(key), with_expiry=True)
    assert native is not None
    assert native[1] == expected
    assert len(statements) == 2  # the session (with its expiry), the user


def test_a_cached_db_session_missing_from_the_cache_fills_it() -> None:
    key = session_for(alice(), store=CachedDb)
    cache.clear()
    native, django_user, store = verdicts(key, CachedDb)
    assert_same_user(native, django_user)
    assert cache.get(store.cache_key) == store._session_cache


def test_a_forged_key_leaves_the_store_as_django_leaves_it() -> None:
    store = Db("x" * 32)
    native = on_new_loop(aresolve_native, store)
    assert native is not None and isinstance(native[0], AnonymousUser)
    assert store.session_key is None
    assert store._session_cache == {}
