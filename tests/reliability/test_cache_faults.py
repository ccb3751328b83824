"""The identity cache on a store that fails: a Redis that is full, slow, down,
flushed or restarted, and an in-process cache that culls.

A real ``redis-server`` is put in each state as production meets it
(``CONFIG SET maxmemory``, the process frozen (``SIGSTOP``), ``CLIENT PAUSE``
of writes as a failover does, ``FLUSHALL``, the process stopped and started
again on its port; see ``FaultyRedis``), with socket timeouts set as a project sets them.
In every state:

- a request is answered as Django would answer it without the cache (from
  the database), never with a 500;
- every way a session ends or a user's access changes (logout, the session
  row deleted, its expiry moved, deactivation, deletion, a membership or a
  group's permission removed) takes effect for the copied cookie, during the
  fault and after it, on the sync and the async path, through the
  one-round-trip reader and through Django's cache API;
- the cache serves again once Redis is back.

A write the store refuses leaves a miss: every key an entry needs (the
entry's tokens, its pointer) missing is a miss, on every read path.

The sockets' side, with the layer on the same Redis, is in
``tests/channels/test_redis_faults.py``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any, ClassVar
from unittest import skipIf
from unittest.mock import patch

import redis
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import AsyncClient, Client, TransactionTestCase, override_settings

from async_auth_views.identity import _cache, _entries, _owed
from async_auth_views.identity_redis import redis_reader
from devtools import servers
from tests import test_changes as changes
from tests.project import add_user_permission

from .faults import FaultyRedis

REDIS = "django.core.cache.backends.redis.RedisCache"
#: Socket timeouts as a project sets them: a slow Redis is a failing one.
TIMEOUTS = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}


class ReadThroughDjango(RedisCache):
    """A ``RedisCache`` the one-round-trip reader leaves alone (its ``get`` is its
    own): read and written through Django's cache API alone."""

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return super().get(key, default, version)


def anonymous(key: str) -> None:
    assert changes.whoami(key) == (200, "None"), changes.whoami(key)


def forbidden(key: str) -> None:
    assert changes.whoami(key, "/guarded/")[0] == 403, changes.whoami(key, "/guarded/")


@skipIf(shutil.which("redis-server") is None, "redis-server is not installed")
class RedisFaultTestCase(TransactionTestCase):
    """Alice, who may see ``/guarded/`` through her group, holds a session whose
    entry is cached; then Redis fails, and something changes."""

    redis: ClassVar[FaultyRedis]
    backend: ClassVar[str] = REDIS

    @classmethod
    def setUpClass(cls) -> None:
        cls.redis = FaultyRedis()
        cls.addClassCleanup(cls.redis.stop)
        super().setUpClass()

    def setUp(self) -> None:
        identity_cache = {
            "BACKEND": self.backend,
            "LOCATION": self.identity_location(),
            "OPTIONS": TIMEOUTS,
        }
        overrides = override_settings(
            **{
                **changes.IDENTITY,
                "CACHES": {**changes.CACHES, "identity": identity_cache},
            }
        )
        overrides.enable()
        self.addCleanup(overrides.disable)
        self.addCleanup(changes.MIDWAY.clear)
        self.redis.flush()
        self.group = Group.objects.create(name="staff")
        self.group.permissions.add(add_user_permission())
        self.alice = User.objects.create_user("alice", password="alice-pass")
        self.alice.groups.add(self.group)
        self.key = self.login(self.alice)

    def identity_location(self) -> Any:
        return self.redis.url

    def login(self, user: User) -> str:
        """Log ``user`` in and fill the session's entry; return the session key."""
        client = Client()
        client.force_login(user)
        key = client.session.session_key
        assert key is not None
        # A fill needs the tokens the request created to be readable where reads
        # go: behind a lagging replica a request finds them missing and stores
        # nothing (a missing token is a miss), so the next one fills.
        for _ in range(5):
            self.assertEqual(changes.whoami(key, "/guarded/"), (200, user.username))
            self.replicated()
            if changes.cached(key):
                break
        self.assertTrue(changes.cached(key), "the entry was not filled")
        return key

    def replicated(self) -> None:
        """Wait until what was written is readable where reads go (a replica)."""

    def forget_entry(self) -> None:
        """Delete alice's entry: her next request is a miss that fills it."""
        caches["identity"].delete(_entries.session_entry_key(self.key))

    def assert_served(self, key: str) -> None:
        self.assertEqual(changes.whoami(key, "/guarded/"), (200, "alice"))


# What a project does, and what the copied cookie must then get --------------


def logout(test: RedisFaultTestCase) -> Callable[[str], None]:
    other_tab = Client()
    other_tab.cookies["sessionid"] = test.key
    assert other_tab.post("/logout/").status_code == 200
    return anonymous


def delete_session_row(test: RedisFaultTestCase) -> Callable[[str], None]:
    Session.objects.filter(session_key=test.key).delete()
    return anonymous


def move_expiry(test: RedisFaultTestCase) -> Callable[[str], None]:
    session = SessionStore(test.key)
    session.set_expiry(timedelta(milliseconds=300))
    session.save()
    time.sleep(0.4)
    return anonymous


def deactivate(test: RedisFaultTestCase) -> Callable[[str], None]:
    test.alice.is_active = False
    test.alice.save()
    return anonymous


def delete_user(test: RedisFaultTestCase) -> Callable[[str], None]:
    test.alice.delete()
    return anonymous


def leave_group(test: RedisFaultTestCase) -> Callable[[str], None]:
    test.alice.groups.remove(test.group)
    return forbidden


def remove_group_permission(test: RedisFaultTestCase) -> Callable[[str], None]:
    test.group.permissions.clear()
    return forbidden


Change = Callable[[RedisFaultTestCase], Callable[[str], None]]
#: One change of each kind: a session ended, a user changed, everyone changed.
ONE_OF_EACH: tuple[Change, ...] = (logout, deactivate, remove_group_permission)
EVERY_CHANGE: tuple[Change, ...] = (
    logout,
    delete_session_row,
    move_expiry,
    deactivate,
    delete_user,
    leave_group,
    remove_group_permission,
)


class FaultCases:
    """Mixed into a RedisFaultTestCase: one test per change in ``changes``, made
    while Redis is in ``fault()``; the copied cookie is refused then, and after
    Redis is back."""

    changes: ClassVar[tuple[Change, ...]] = ONE_OF_EACH

    def fault(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for change in cls.changes:
            setattr(cls, f"test_{change.__name__}", _case(change))

    def check(self, change: Change) -> None:
        with self.fault():
            self.assert_served(self.key)
            refused = change(self)
            refused(self.key)
        refused(self.key)


def _case(change: Change) -> Callable[[Any], None]:
    def test(self: Any) -> None:
        self.check(change)

    test.__name__ = f"test_{change.__name__}"
    test.__doc__ = f"{change.__name__}, then the copied cookie is refused."
    return test


class FullRedisTests(FaultCases, RedisFaultTestCase):
    """At ``maxmemory`` with the default ``noeviction`` policy: every write is
    refused, reads and deletions are not."""

    changes = EVERY_CHANGE

    def fault(self) -> AbstractContextManager[None]:
        return self.redis.full()

    def check(self, change: Change) -> None:
        # A deletion succeeds on a full Redis: nothing is left to log.
        with self.assertNoLogs("async_auth_views.identity", "ERROR"):
            super().check(change)

    def test_a_hit_is_served_and_a_miss_is_answered_from_the_database(self) -> None:
        bob = User.objects.create_user("bob")
        with self.redis.full():
            self.assert_served(self.key)
            self.assertTrue(changes.cached(self.key))
            client = Client()
            client.force_login(bob)
            bob_key = client.session.session_key
            assert bob_key is not None
            for _ in range(2):
                self.assertEqual(changes.whoami(bob_key), (200, str(bob.pk)))
            self.assertFalse(changes.cached(bob_key))  # nothing could be stored
        self.assertEqual(changes.whoami(bob_key), (200, str(bob.pk)))
        self.assertTrue(changes.cached(bob_key))  # back: filled again

    def test_a_change_during_a_fill_is_not_served(self) -> None:
        # The request in flight stamped the old tokens; on a full Redis its
        # entry cannot be written, and none of the old ones may be served.
        self.forget_entry()
        changes.MIDWAY.append(lambda: logout(self))
        with self.redis.full():
            self.assertEqual(
                changes.resolve_session(changes.MidwaySessionStore(self.key)).user,
                self.alice,
            )
            self.assertEqual(changes.MIDWAY, [], "the change never ran")
            anonymous(self.key)
        anonymous(self.key)


class ReadThroughDjangoFullRedisTests(FullRedisTests):
    backend = f"{__name__}.ReadThroughDjango"

    def test_the_reader_is_not_used(self) -> None:
        self.assertIsNone(redis_reader(caches["identity"]))


class EvictingFullRedisTests(RedisFaultTestCase):
    """At ``maxmemory`` with an eviction policy: writes succeed by evicting other
    keys, tokens included. An entry stored so is never served stale."""

    def fill_until_evicting(self, policy: str) -> None:
        with self.redis.admin() as client:
            ttl = 600 if policy.startswith("volatile") else None
            for n in range(2000):
                client.set(f"ballast-{n}", "x" * 1000, ex=ttl)

    def check_policy(self, policy: str) -> None:
        bob = User.objects.create_user("bob")
        bob.groups.add(self.group)
        with self.redis.full(policy, headroom=200_000):
            self.fill_until_evicting(policy)
            key = self.login(bob)  # stored while full
            self.assertEqual(changes.whoami(key, "/guarded/"), (200, "bob"))
            bob.groups.remove(self.group)
            forbidden(key)
            self.fill_until_evicting(policy)
            bob.is_active = False
            bob.save()
            anonymous(key)
            with self.redis.admin() as client:
                self.assertGreater(client.info("stats")["evicted_keys"], 0)

    def test_allkeys_lru(self) -> None:
        self.check_policy("allkeys-lru")

    def test_volatile_lru(self) -> None:
        self.check_policy("volatile-lru")


class SlowRedisTests(FaultCases, RedisFaultTestCase):
    """Every command waits (the server's process is stopped) longer than the
    socket timeout: reads and invalidations time out, and an invalidation that
    timed out is owed, whether or not the server runs it when it resumes."""

    def fault(self) -> AbstractContextManager[None]:
        return self.redis.frozen()

    def test_requests_are_answered_from_the_database(self) -> None:
        with self.redis.frozen():
            # The server answers nothing until the block ends: an answer at
            # all is one from the database, after the socket timeouts (0.2 s
            # each), not after the operating system's TCP timeout.
            started = time.monotonic()
            self.assert_served(self.key)
            self.assertLess(time.monotonic() - started, 10.0)


class FailoverRedisTests(FaultCases, RedisFaultTestCase):
    """Writes wait (``CLIENT PAUSE WRITE``, as during a failover) longer than the
    socket timeout, and are dropped; reads are served."""

    def fault(self) -> AbstractContextManager[None]:
        return self.redis.failover()

    def test_a_long_outage_owes_everyones_token_alone(self) -> None:
        # Past MAX_OWED keys, what is owed collapses to everyone's token: one
        # deletion that makes every entry a miss, in bounded memory.
        with (
            patch.object(_owed, "MAX_OWED", 2),
            self.redis.failover(),
        ):
            refused = logout(self)  # three keys
            self.assertEqual(list(_owed.owed()), [_entries.EVERYONE])
        refused(self.key)
        self.assertEqual(_owed.owed(), {})


class ReadThroughDjangoFailoverRedisTests(FailoverRedisTests):
    backend = f"{__name__}.ReadThroughDjango"


class DownRedisTests(FaultCases, RedisFaultTestCase):
    """The server is stopped, then started again (empty) on its port."""

    def fault(self) -> AbstractContextManager[None]:
        return self.redis.down()

    def test_requests_are_answered_from_the_database(self) -> None:
        with self.redis.down():
            self.assert_served(self.key)
            leave_group(self)(self.key)
        forbidden(self.key)


class RecoveryTests(RedisFaultTestCase):
    """Once Redis is back, entries are filled and served again, without a 500."""

    def assert_cached_again(self) -> None:
        bob = User.objects.create_user(f"bob-{time.monotonic_ns()}")
        bob.groups.add(self.group)
        self.login(bob)  # filled and served: the cache works
        self.assertEqual(changes.whoami(self.key), (200, str(self.alice.pk)))

    def test_after_a_restart(self) -> None:
        self.redis.stop()
        self.redis.start()
        self.assert_cached_again()
        deactivate(self)(self.key)

    def test_after_a_flush(self) -> None:
        self.redis.flush()
        self.assert_served(self.key)
        self.assert_cached_again()
        logout(self)(self.key)

    def test_after_a_pause(self) -> None:
        with self.redis.failover():
            deactivate(self)
        self.alice.is_active = True
        self.alice.save()
        self.assert_cached_again()

    def test_a_flush_during_a_fill(self) -> None:
        # Tokens stamped before FLUSHALL are gone: the entry written after
        # names tokens that no longer exist, and is never served.
        def flush_then_logout() -> None:
            self.redis.flush()
            logout(self)

        self.forget_entry()
        changes.MIDWAY.append(flush_then_logout)
        self.assertEqual(
            changes.resolve_session(changes.MidwaySessionStore(self.key)).user,
            self.alice,
        )
        self.assertEqual(changes.MIDWAY, [], "the change never ran")
        anonymous(self.key)


class MissingKeyTests(RedisFaultTestCase):
    """Each key a served entry needs, missing (refused, evicted, flushed, or
    deleted by an invalidation), is a miss on every read path."""

    def needed(self) -> dict[str, str]:
        pointer = _entries.entry_token_pointer_key(self.key)
        keys = {
            "the session's token": _entries.session_token_key(self.key),
            "the user's token": _entries.user_token_key(str(self.alice.pk)),
            "everyone's token": _entries.EVERYONE,
            "the entry": _entries.session_entry_key(self.key),
        }
        if redis_reader(caches["identity"]) is not None:
            keys["the entry's pointer"] = pointer
        return keys

    def lookups(self) -> dict[str, Any]:
        cache = caches["identity"]
        reader = redis_reader(cache)
        found = {
            "Django's client": lambda: (
                _cache.cached_entry(cache, SessionStore(self.key)).user
            )
        }
        if reader is not None:
            found["the event loop's client"] = lambda: (
                async_to_sync(reader.aread)(SessionStore(self.key)).user
            )
        return found

    def test_each_missing_key_is_a_miss(self) -> None:
        for name, key in self.needed().items():
            for path, lookup in self.lookups().items():
                with self.subTest(missing=name, read_by=path):
                    self.assert_served(self.key)  # filled again, if it was not
                    self.assertEqual(lookup(), self.alice)
                    caches["identity"].delete(key)
                    self.assertIsNone(lookup())
                    # Answered from the database, and filled again.
                    self.assert_served(self.key)
                    self.assertEqual(lookup(), self.alice)


class ReadThroughDjangoMissingKeyTests(MissingKeyTests):
    backend = f"{__name__}.ReadThroughDjango"


@override_settings(**changes.IDENTITY)
class CullingCacheTests(TransactionTestCase):
    """``LocMemCache`` at ``MAX_ENTRIES`` culls a share of its keys on each write
    (every one with ``CULL_FREQUENCY`` 0), tokens included: an entry whose
    token was culled is a miss, and invalidation still takes effect."""

    def test_a_culling_cache_never_serves_a_stale_entry(self) -> None:
        for frequency in (0, 2, 3):
            identity_cache = {
                **changes.CACHES["identity"],
                "OPTIONS": {"MAX_ENTRIES": 12, "CULL_FREQUENCY": frequency},
            }
            caches_setting = {**changes.CACHES, "identity": identity_cache}
            with (
                self.subTest(cull_frequency=frequency),
                self.settings(CACHES=caches_setting),
            ):
                users = [
                    User.objects.create_user(f"u{frequency}-{n}") for n in range(8)
                ]
                keys = []
                for user in users:
                    client = Client()
                    client.force_login(user)
                    key = client.session.session_key
                    assert key is not None
                    self.assertEqual(changes.whoami(key), (200, str(user.pk)))
                    keys.append(key)
                for user in users[::2]:
                    user.is_active = False
                    user.save()
                for user, key in zip(users, keys, strict=True):
                    expected = str(user.pk) if user.is_active else "None"
                    self.assertEqual(changes.whoami(key), (200, expected))
                    self.assertEqual(changes.whoami(key), (200, expected))


class ReplicaTests(RedisFaultTestCase):
    """``LOCATION`` names a primary and a replica: reads go to the replica, and
    an owed deletion to the primary, on the sync and the async path."""

    def setUp(self) -> None:
        replica_server = servers.redis()
        self.addCleanup(replica_server.stop)
        self.replica = redis.Redis.from_url(replica_server.url)
        self.addCleanup(self.replica.close)
        with self.redis.admin() as primary:
            primary.config_set("repl-diskless-sync-delay", "0")
        self.replica.replicaof("127.0.0.1", self.redis.port)
        deadline = time.monotonic() + 10
        while self.replica.info("replication")["master_link_status"] != "up":
            self.assertLess(time.monotonic(), deadline, "no replication")
            time.sleep(0.05)
        self.locations = [self.redis.url, replica_server.url]
        super().setUp()

    def identity_location(self) -> Any:
        return self.locations

    def replicated(self) -> None:
        with self.redis.admin() as primary:  # reads go to the replica
            self.assertEqual(primary.wait(1, 5000), 1)

    def owe_a_deactivation(self) -> None:
        with self.redis.failover():
            deactivate(self)
        self.assertNotEqual(_owed.owed(), {})

    def test_an_owed_deletion_is_made_on_the_primary(self) -> None:
        for path in ("async", "sync"):
            with self.subTest(path=path):
                self.alice.is_active = True
                self.alice.save()
                self.assert_served(self.key)
                self.owe_a_deactivation()
                # The replica still holds the entry; the first read pays.
                client = AsyncClient() if path == "async" else Client()
                client.cookies["sessionid"] = self.key
                get = async_to_sync(client.get) if path == "async" else client.get
                self.assertEqual(get("/whoami/").status_code, 200)
                self.assertEqual(_owed.owed(), {})
                with self.redis.admin() as primary:  # the replica's lag
                    self.assertEqual(primary.wait(1, 2000), 1)
                anonymous(self.key)
