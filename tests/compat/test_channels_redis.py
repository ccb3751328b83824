"""channels_redis with a real ``redis-server``: allauth's logout reaches the
socket through Redis, as it would across processes.

The cross-process case itself (two uvicorn processes sharing one redis-server)
is tests/channels/test_e2e.py; this runs the released channels_redis under the
compat settings. Skipped where redis-server is not installed, except in CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from channels.layers import get_channel_layer

from devtools.servers import redis
from tests.compat.test_allauth import AllauthCase


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        reason = "redis-server is not on PATH (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    with redis() as server:
        yield server.url


class RedisTests(AllauthCase):
    @pytest.fixture(autouse=True)
    def _redis_layer(self, redis_url: str) -> None:
        self.channel_layers = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [redis_url]},
            }
        }

    async def test_allauths_logout_closes_a_socket_through_redis(self) -> None:
        layer = get_channel_layer()
        self.assertEqual(type(layer).__module__, "channels_redis.core")
        try:
            await self.assert_logout_closes_the_socket()
        finally:
            await layer.flush()
