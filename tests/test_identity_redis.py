"""Tests for ``async_auth_views.identity_redis``: identity-cache hits read from the
event loop, against a real ``redis-server``.

The entries are written through Django's own ``RedisCache`` client (a miss
fills them in the resolver's thread) and read by the asyncio client, so every
hit below shows that the two clients agree on keys, servers and
serialization. Round trips are counted by the server itself (``MONITOR``).
The tests of ``tests/test_changes.py`` run here again with the cache in Redis:
every way an entry ends, and the races, on the one-round-trip read.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any
from unittest import skipIf

import redis
from asgiref.sync import async_to_sync
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.db import connection
from django.test import (
    AsyncClient,
    Client,
    TestCase,
    TransactionTestCase,
    override_settings,
)
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from async_auth_views.identity import _cache, _entries
from async_auth_views.identity_redis import redis_reader
from devtools import servers
from tests import test_changes as changes
from tests.measure import Cost, cost_of
from tests.project import User, add_user_permission

OUR_SESSION = "async_auth_views.middleware.SessionMiddleware"
OUR_AUTH = "async_auth_views.middleware.AuthenticationMiddleware"
REDIS = "django.core.cache.backends.redis.RedisCache"
#: Sync views (test_identity's are async): the sync path, as under WSGI, reads
#: the cache with Django's client.
SYNC_VIEWS = "tests.test_changes"


class TaggedSerializer(RedisSerializer):
    """A project's own serializer: the reader must decode with it, not with pickle."""

    def dumps(self, obj: Any) -> bytes:
        return b"tagged:" + pickle.dumps(obj)

    def loads(self, data: bytes) -> Any:
        if not data.startswith(b"tagged:"):
            raise ValueError("not written by TaggedSerializer")
        return pickle.loads(data[len(b"tagged:") :])


def reversed_key(key: str, key_prefix: str, version: int) -> str:
    return f"{version}|{key_prefix}|{key[::-1]}"


class SubclassReadingMore(RedisCache):
    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return super().get(key, default, version)


class SubclassWritingMore(RedisCache):
    def set(
        self, key: str, value: Any, timeout: Any = 300, version: Any = None
    ) -> None:
        super().set(key, value, timeout, version)


_MARKER = "async-auth-views-tests-end-of-commands"


@contextmanager
def commands_run(server: redis.Redis) -> Iterator[list[tuple[str, str]]]:
    """The commands ``server`` runs in the block, in order, as (sender, name):
    sender "lua" for a script's own calls, "client" for a command a client
    sent (one round trip each). Seen by the server itself (``MONITOR``)."""
    run: list[tuple[str, str]] = []
    with server.monitor() as monitor:
        yield run
        server.echo(_MARKER)
        for command in monitor.listen():
            words = command["command"].split(" ")
            if words == ["ECHO", _MARKER]:
                break
            sender = "lua" if command["client_type"] == "lua" else "client"
            run.append((sender, words[0].upper()))


@skipIf(shutil.which("redis-server") is None, "redis-server is not installed")
@override_settings(
    ROOT_URLCONF="tests.test_identity",
    MIDDLEWARE=[OUR_SESSION, OUR_AUTH],
)
class RedisIdentityCacheTests(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        stack = ExitStack()
        cls.addClassCleanup(stack.close)
        cls.url = stack.enter_context(servers.redis()).url
        cls.redis = redis.Redis.from_url(cls.url)
        cls.addClassCleanup(cls.redis.close)
        # Before setUpTestData: saving users writes the tokens to this cache.
        stack.enter_context(
            override_settings(
                CACHES=cls.caches_setting(), ASYNC_AUTH_IDENTITY_CACHE="identity"
            )
        )
        super().setUpClass()

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password="alice-pass")
        cls.permission = add_user_permission()
        cls.alice.user_permissions.add(cls.permission)

    def setUp(self) -> None:
        self.redis.flushdb()
        self.client = AsyncClient()
        self.client.force_login(self.alice)

    @classmethod
    def caches_setting(cls, **identity: Any) -> dict[str, Any]:
        return {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "identity": {"BACKEND": REDIS, "LOCATION": cls.url, **identity},
        }

    def get(self, path: str = "/guarded/") -> Cost:
        return cost_of(self.client, "get", path)

    def assert_hit(self) -> Cost:
        cost = self.get()
        self.assertEqual(
            (cost.response.status_code, cost.response.content), (200, b"alice")
        )
        self.assertEqual(cost.sql, [])
        self.assertEqual(cost.hops, ["HttpResponseBase.close"])  # the test client's
        return cost

    def test_a_hit_costs_no_hop_and_no_sql(self) -> None:
        with self.settings(CACHES=self.caches_setting()):
            miss = self.get()
            self.assertEqual(miss.response.content, b"alice")
            self.assertIn("_resolve", miss.hops)
            self.assertEqual(len(miss.sql), 3)
            hit = self.assert_hit()
            self.assertIn("Cookie", hit.response["Vary"])

    def monitored_hit(self, *, in_a_thread: bool) -> list[tuple[str, str]]:
        """The commands Redis runs for a hit, after one hit that connects (as a
        server's event loop or thread has already done)."""
        if in_a_thread:
            client = Client()
            client.cookies = self.client.cookies  # the same browser
            with override_settings(ROOT_URLCONF=SYNC_VIEWS):
                client.get("/guarded/")
                with commands_run(self.redis) as run:
                    response = client.get("/guarded/")
        else:

            async def two_hits() -> tuple[Any, list[tuple[str, str]]]:
                await self.client.get("/guarded/")
                with commands_run(self.redis) as run:
                    response = await self.client.get("/guarded/")
                return response, run

            response, run = async_to_sync(two_hits)()
        self.assertEqual(response.content, b"alice")
        return run

    def sync_hit(self) -> None:
        """A hit on the sync path: read with Django's client."""
        client = Client()
        client.cookies = self.client.cookies  # the same browser
        with (
            override_settings(ROOT_URLCONF=SYNC_VIEWS),
            CaptureQueriesContext(connection) as queries,
        ):
            response = client.get("/guarded/")
        self.assertEqual((response.content, len(queries)), (b"alice", 0))

    def assert_one_round_trip(self, run: list[tuple[str, str]]) -> None:
        self.assertEqual([c for c in run if c[0] == "client"], [("client", "EVALSHA")])
        self.assertEqual({name for _, name in run if _ == "lua"}, {"GET"})

    def test_a_hit_is_one_round_trip(self) -> None:
        with self.settings(CACHES=self.caches_setting()):
            self.get()  # the miss that fills the entry
            self.assert_one_round_trip(self.monitored_hit(in_a_thread=False))

    def test_a_hit_in_a_thread_is_one_round_trip(self) -> None:
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            self.assert_one_round_trip(self.monitored_hit(in_a_thread=True))

    def test_a_fill_writes_the_entry_and_its_pointer_together(self) -> None:
        with self.settings(CACHES=self.caches_setting()):
            with commands_run(self.redis) as run:
                self.get()
            names = [name for sender, name in run if sender == "client"]
            multi = names.index("MULTI")
            self.assertEqual(names[multi : multi + 4], ["MULTI", "SET", "SET", "EXEC"])
            cache = caches["identity"]
            key = self.client.session.session_key
            pointer = cache.make_key(_entries.entry_token_pointer_key(key))
            entry = cache.make_key(_entries.session_entry_key(key))
            user_token = cache.make_key(_entries.user_token_key(str(self.alice.pk)))
            self.assertEqual(self.redis.get(pointer), user_token.encode())
            self.assertLessEqual(self.redis.ttl(pointer), self.redis.ttl(entry))
            self.assertGreater(self.redis.ttl(pointer), 0)

    def test_a_missing_pointer_is_a_miss_that_writes_it_again(self) -> None:
        # An entry written by a version without pointers, or a pointer evicted.
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            key = self.client.session.session_key
            cache = caches["identity"]
            self.redis.delete(cache.make_key(_entries.entry_token_pointer_key(key)))
            miss = self.get()
            self.assertEqual(miss.response.content, b"alice")
            self.assertEqual(len(miss.sql), 3)
            self.assert_hit()

    def test_a_pointer_to_another_key_holding_the_old_token_is_a_miss(self) -> None:
        # The pointer is only a route: the token read must be the one under
        # the served user's own key. Here alice's token is replaced (a change
        # to alice) while the pointer names a copy of her old token.
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            key = self.client.session.session_key
            cache = caches["identity"]
            user_token = cache.make_key(_entries.user_token_key(str(self.alice.pk)))
            self.redis.set("copy-of-the-old-token", self.redis.get(user_token))
            pointer = cache.make_key(_entries.entry_token_pointer_key(key))
            self.redis.set(pointer, "copy-of-the-old-token")
            _cache.forget_user(str(self.alice.pk))
            miss = self.get()
            self.assertEqual(miss.response.content, b"alice")
            self.assertEqual(len(miss.sql), 3)
            self.assertEqual(self.redis.get(pointer), user_token.encode())

    def test_a_server_that_forgot_the_script_loads_it_again(self) -> None:
        # A restarted or failed-over server has an empty script cache.
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            self.redis.script_flush()
            self.assert_hit()
            self.redis.script_flush()
            self.sync_hit()

    def test_a_full_redis_still_serves_hits(self) -> None:
        # maxmemory reached with noeviction: writes fail, reads (and a script
        # that only reads) do not.
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            self.redis.config_set("maxmemory-policy", "noeviction")
            self.redis.config_set("maxmemory", "1")
            self.addCleanup(self.redis.config_set, "maxmemory", "0")
            self.redis.script_flush()
            self.assert_hit()
            self.sync_hit()

    def test_a_replica_is_read_with_the_script(self) -> None:
        # LOCATION naming a primary and a replica: Django reads from the
        # replica, read-only, which runs (and loads) the script too.
        with servers.redis() as replica_server:
            replica = redis.Redis.from_url(replica_server.url)
            self.addCleanup(replica.close)
            self.redis.config_set("repl-diskless-sync-delay", "0")  # 5 s by default
            primary = self.redis.connection_pool.connection_kwargs
            replica.replicaof(primary["host"], primary["port"])
            deadline = time.monotonic() + 10
            while replica.info("replication")["master_link_status"] != "up":
                self.assertLess(time.monotonic(), deadline, "no replication")
                time.sleep(0.05)
            identity_setting = {"LOCATION": [self.url, replica_server.url]}
            with self.settings(CACHES=self.caches_setting(**identity_setting)):
                # Tokens are read from the replica too, and created on the
                # primary when missing: the session's and everyone's at the
                # first miss, the user's at the second at the latest, so the
                # third fills the entry whatever the replication lag.
                for _ in range(3):
                    self.assertEqual(self.get().response.content, b"alice")
                    self.assertEqual(self.redis.wait(1, 5000), 1)
                with commands_run(replica) as run:
                    self.assert_hit()
                self.assertIn(("client", "EVALSHA"), run)

    def test_keys_and_serializer_are_the_caches_own(self) -> None:
        identity = {
            "KEY_PREFIX": "project",
            "VERSION": 7,
            "KEY_FUNCTION": f"{__name__}.reversed_key",
            "OPTIONS": {"serializer": f"{__name__}.TaggedSerializer"},
        }
        with self.settings(CACHES=self.caches_setting(**identity)):
            self.redis.flushdb()
            self.get()
            keys = [key.decode() for key in self.redis.keys("*")]
            self.assertTrue(keys)
            self.assertTrue(all(key.startswith("7|project|") for key in keys), keys)
            self.assert_hit()

    def test_a_change_through_djangos_client_is_seen(self) -> None:
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            self.assert_hit()
            self.alice.user_permissions.remove(self.permission)
            refused = self.get()
            self.assertEqual(refused.response.status_code, 403)
            self.assertIn("_resolve", refused.hops)

    def test_a_logout_is_seen(self) -> None:
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            self.assert_hit()
            self.assertEqual(self.get("/logout/").response.status_code, 200)
            self.assertEqual(self.get("/whoami/").response.content, b"anonymous")

    def test_an_evicted_token_is_a_miss(self) -> None:
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            cache = caches["identity"]
            self.redis.delete(cache.make_key(_entries.EVERYONE))
            miss = self.get()
            self.assertEqual(miss.response.content, b"alice")
            self.assertIn("_resolve", miss.hops)

    def test_a_server_that_is_gone_is_a_miss_logged_once(self) -> None:
        with servers.redis() as server:
            gone = {
                **self.caches_setting(),
                "identity": {"BACKEND": REDIS, "LOCATION": server.url},
            }
        # The server has stopped: every read fails.
        with (
            self.settings(CACHES=gone),
            self.assertLogs("async_auth_views.identity", logging.WARNING) as logs,
        ):
            cost = self.get()
        self.assertEqual(
            (cost.response.status_code, cost.response.content), (200, b"alice")
        )
        self.assertEqual(len(cost.sql), 3)
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("could not be read", logs.output[0])

    def test_a_failing_read_falls_back_and_permissions_still_apply(self) -> None:
        with servers.redis() as server:
            gone = {
                **self.caches_setting(),
                "identity": {"BACKEND": REDIS, "LOCATION": server.url},
            }
        self.alice.user_permissions.remove(self.permission)
        with self.settings(CACHES=gone), self.assertLogs("async_auth_views.identity"):
            self.assertEqual(self.get().response.status_code, 403)

    def test_sync_only_options_are_read_in_a_thread(self) -> None:
        options = {"OPTIONS": {"pool_class": "redis.BlockingConnectionPool"}}
        with self.settings(CACHES=self.caches_setting(**options)):
            self.get()
            hit = self.get()
            self.assertEqual(hit.response.content, b"alice")
            self.assertEqual(hit.sql, [])
            self.assertIn("resolve_user", hit.hops)

    def test_a_subclass_that_reads_differently_is_read_in_a_thread(self) -> None:
        for subclass in ("SubclassReadingMore", "SubclassWritingMore"):
            setting = {"BACKEND": f"{__name__}.{subclass}", "LOCATION": self.url}
            with self.settings(CACHES={**self.caches_setting(), "identity": setting}):
                self.assertIsNone(redis_reader(caches["identity"]))
        with self.settings(CACHES=self.caches_setting()):
            self.assertIsNotNone(redis_reader(caches["identity"]))

    def test_connections_close_when_the_loop_ends(self) -> None:
        with self.settings(CACHES=self.caches_setting()):
            self.get()
            before = self.redis.client_list()
            reader = redis_reader(caches["identity"])
            assert reader is not None

            async def read_twice() -> None:
                for _ in range(2):
                    await reader.aread(self.client.session)

            asyncio.run(read_twice())
            self.assertEqual(len(self.redis.client_list()), len(before))


# tests/test_changes.py, with the identity cache in Redis --------------------


@skipIf(shutil.which("redis-server") is None, "redis-server is not installed")
class OnRedis(TransactionTestCase):
    """Runs a case of ``tests/test_changes.py`` with the identity cache in Redis:
    its entries filled through the resolver, read in one round trip on the
    sync path (``Client``) and the event loop (``AsyncClient``) alike."""

    url: str

    @classmethod
    def setUpClass(cls) -> None:
        stack = ExitStack()
        cls.addClassCleanup(stack.close)
        cls.url = stack.enter_context(servers.redis()).url
        super().setUpClass()

    def identity_settings(self) -> dict[str, Any]:
        identity = {"BACKEND": REDIS, "LOCATION": self.url}
        return {**changes.IDENTITY, "CACHES": {**changes.CACHES, "identity": identity}}


class RedisUserKinTests(OnRedis, changes.UserKinTests):
    pass


class RedisChildUserTests(OnRedis, changes.ChildUserTests):
    pass


class RedisGroupAndPermissionKinTests(OnRedis, changes.GroupAndPermissionKinTests):
    pass


class RedisSessionEndedWithoutLogoutTests(
    OnRedis, changes.SessionEndedWithoutLogoutTests
):
    pass


class RedisTimeLeftTests(OnRedis, changes.TimeLeftTests):
    def test_an_entry_lives_no_longer_than_its_session_has_left(self) -> None:
        # Redis's own expiry, for the entry and for its pointer.
        alice = User.objects.create_user("alice")
        self.client.force_login(alice)
        key = self.client.session.session_key
        assert key is not None
        expire = timezone.now() + timedelta(seconds=3)
        Session.objects.filter(session_key=key).update(expire_date=expire)
        self.assertEqual(changes.whoami(key), (200, str(alice.pk)))
        cache = caches["identity"]
        server = redis.Redis.from_url(self.url)
        self.addCleanup(server.close)
        for name in (
            _entries.session_entry_key(key),
            _entries.entry_token_pointer_key(key),
        ):
            ttl = server.ttl(cache.make_key(name))  # -2: gone already, fine
            self.assertNotEqual(ttl, -1, f"{name} never expires")
            self.assertLessEqual(ttl, 3, name)


class RedisRaceTests(OnRedis, changes.RaceTests):
    pass


class RedisThroughRowTests(OnRedis, changes.ThroughRowTests):
    pass


class RedisPrimaryKeyFormTests(OnRedis, changes.PrimaryKeyFormTests):
    pass


class RedisBackendVerdictTests(OnRedis, changes.BackendVerdictTests):
    """A hit read on the event loop by the asyncio client asks the backend too."""
