"""The identity cache on Redis parses replies with hiredis when it is installed
(the ``redis`` extra): both the asyncio client that reads hits and Django's."""

from __future__ import annotations

import asyncio

import pytest
from django.core.cache import caches
from django.test import override_settings

from async_auth_views.identity_redis import redis_reader

REDIS_CACHE = {
    "identity": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Never connected: a connection object is made, not opened.
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        **REDIS_CACHE,
    }
)
def test_hits_and_fills_parse_replies_with_hiredis() -> None:
    pytest.importorskip("hiredis")
    cache = caches["identity"]
    reader = redis_reader(cache)
    assert reader is not None

    async def async_parser() -> str:
        client = await reader._client()
        return type(client.connection_pool.make_connection()._parser).__name__

    assert "Hiredis" in asyncio.run(async_parser())
    sync_client = cache._cache.get_client(None, write=False)  # type: ignore[attr-defined]
    connection = sync_client.connection_pool.make_connection()
    assert "Hiredis" in type(connection._parser).__name__
