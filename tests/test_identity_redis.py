"""Tests for ``async_auth_views.identity_redis``: identity-cache hits read from the
event loop, against a real ``redis-server``.

The entries are written by Django's own ``RedisCache`` (a miss fills them in
the resolver's thread) and read by the asyncio client, so every hit below
shows that the two clients agree on keys, servers and serialization.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import shutil
from contextlib import ExitStack
from typing import Any
from unittest import skipIf

import redis
from django.contrib.auth.models import Permission, User
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisSerializer
from django.test import AsyncClient, TestCase, override_settings

from async_auth_views.identity_redis import redis_reader
from tests import servers
from tests.measure import Cost, cost_of

OUR_SESSION = "async_auth_views.middleware.SessionMiddleware"
OUR_AUTH = "async_auth_views.middleware.AuthenticationMiddleware"
REDIS = "django.core.cache.backends.redis.RedisCache"


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
        cls.permission = Permission.objects.get(codename="add_user")
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
            self.redis.delete(cache.make_key("async_auth_views.identity.everyone"))
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
        setting = {"BACKEND": f"{__name__}.SubclassReadingMore", "LOCATION": self.url}
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
                    await reader.acached_user(self.client.session)

            asyncio.run(read_twice())
            self.assertEqual(len(self.redis.client_list()), len(before))
