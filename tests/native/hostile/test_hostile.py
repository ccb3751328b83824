"""Native mode on the hostile project: Django's verdict, or the thread hop.

Run with ``--ds=tests.native.hostile.settings`` (tox's ``py312-dj61-native``).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.sessions.backends.db import SessionStore as Db
from django.test import override_settings
from django.utils import timezone

from async_auth_views.groups import GROUP_NAMES
from async_auth_views.identity._native import aresolve_native

from ..support import needs_async_engine, on_new_loop, session_for
from ..test_verdicts import assert_same_user, verdicts

pytestmark = [
    needs_async_engine,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        getattr(settings, "AUTH_USER_MODEL", "") != "hostile.User",
        reason="the hostile project's settings: --ds=tests.native.hostile.settings",
    ),
]

EXPIRING = "tests.native.hostile.backends.ExpiringBackend"
LOCKOUT = "tests.native.hostile.backends.LockoutBackend"
OLD_KEY = "old-key-old-key-old-key-old-key-old-key-old-key"


def user(**fields: Any) -> Any:
    return get_user_model().objects.create_user("mallory", password="pw", **fields)


def login(account: Any, backend: str = EXPIRING, **data: Any) -> str:
    return session_for(account, backend=backend, **data)


def test_a_uuid_user_is_resolved_natively() -> None:
    native, django_user, _ = verdicts(login(user()))
    assert native is not None
    assert_same_user(native, django_user)
    assert native.pk == django_user.pk


def test_a_user_id_stored_in_capitals_names_the_same_user() -> None:
    account = user()
    key = login(account, **{SESSION_KEY: str(account.pk).upper()})
    native, django_user, _ = verdicts(key)
    assert native is not None
    assert_same_user(native, django_user)
    assert native.pk == account.pk


@pytest.mark.parametrize(
    "fields",
    [
        {"deleted": True},
        {"is_active": False},
        {"expires": timezone.now() - datetime.timedelta(minutes=1)},
    ],
    ids=["hidden by the default manager", "inactive", "an expired account"],
)
def test_a_refused_account_is_anonymous_natively(fields: dict[str, Any]) -> None:
    account = user()
    key = login(account)
    get_user_model().everyone.filter(pk=account.pk).update(**fields)
    native, django_user, _ = verdicts(key)
    assert native is not None
    assert isinstance(native, AnonymousUser)
    assert_same_user(native, django_user)


def test_an_expired_session_and_a_forged_key_are_anonymous() -> None:
    key = login(user())
    Db.get_model_class().objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    for session_key in (key, "f" * 32):
        native, django_user, _ = verdicts(session_key)
        assert isinstance(native, AnonymousUser)
        assert isinstance(django_user, AnonymousUser)


def test_permissions_and_groups_through_the_membership_model() -> None:
    account = user()
    staff = Group.objects.create(name="staff")
    account.groups.add(staff)
    staff.permissions.add(Permission.objects.get(codename="add_group"))
    account.user_permissions.add(Permission.objects.get(codename="change_group"))
    native, django_user, _ = verdicts(
        login(account), with_permissions=True, with_groups=True
    )
    assert native._perm_cache == django_user.get_all_permissions()
    assert native._perm_cache == {"auth.add_group", "auth.change_group"}
    assert getattr(native, GROUP_NAMES) == frozenset({"staff"})


@override_settings(SECRET_KEY_FALLBACKS=[OLD_KEY])
def test_rotated_and_forged_hashes_take_the_hop() -> None:
    with override_settings(SECRET_KEY=OLD_KEY):
        rotated = login(user())
    forged = login(
        get_user_model().objects.create_user("eve", password="pw"),
        **{HASH_SESSION_KEY: "0" * 64},
    )
    for key in (rotated, forged):
        assert on_new_loop(aresolve_native, Db(key)) is None


def test_a_backend_that_queries_in_user_can_authenticate_takes_the_hop() -> None:
    """Its sync ORM query raises SynchronousOnlyOperation on the event loop."""
    assert on_new_loop(aresolve_native, Db(login(user(), backend=LOCKOUT))) is None
