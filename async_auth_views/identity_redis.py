"""Moved to ``async_auth_views.identity``; this path keeps working."""

from .identity._redis import RedisReader, redis_reader

__all__ = ["RedisReader", "redis_reader"]
