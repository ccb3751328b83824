"""The deletions this process owes the identity cache.

Private to ``async_auth_views.identity``. Invalidation only deletes (what a
full store still performs); a deletion that failed is owed, and this process
makes it before it reads or fills the cache again (docs/internals.rst).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed

from ._entries import EVERYONE, logger

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache

#: The keys whose deletion is owed, each with the number of the invalidation
#: that last asked for it (a key asked for again meanwhile stays owed).
_owed: dict[str, int] = {}
#: Past this many owed keys (a long outage), everyone's token alone is owed:
#: deleting it makes every entry a miss, whatever the keys owed said.
MAX_OWED = 10_000
_owed_lock = threading.Lock()
_invalidations = itertools.count(1)


def _owe_another_cache_nothing(setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: what was owed, was owed to the cache before."""
    if setting in ("CACHES", "ASYNC_AUTH_IDENTITY_CACHE"):
        with _owed_lock:
            _owed.clear()


setting_changed.connect(_owe_another_cache_nothing, dispatch_uid=f"{__name__}.owed")


def owe(keys: Sequence[str]) -> None:
    """Record that ``keys`` must be deleted before the cache is read again."""
    number = next(_invalidations)
    with _owed_lock:
        _owed.update(dict.fromkeys(keys, number))
        if len(_owed) > MAX_OWED:
            _owed.clear()
            _owed[EVERYONE] = number


def owes() -> bool:
    """Whether this process owes the cache any deletion."""
    return bool(_owed)


def owed() -> dict[str, int]:
    """The deletions this process owes the cache (a copy): each key, with the
    number of the invalidation that last asked for it."""
    with _owed_lock:
        return dict(_owed)


def paid(deleted: dict[str, int]) -> None:
    """Record that the keys of ``deleted`` (an ``owed()``) were deleted."""
    with _owed_lock:
        for key, number in deleted.items():
            if _owed.get(key) == number:
                del _owed[key]


def pay(cache: BaseCache) -> None:
    """Delete what is owed; raises if the cache fails."""
    keys = owed()
    if keys:
        cache.delete_many(list(keys))
        paid(keys)


def settled(cache: BaseCache) -> bool:
    """Whether this process owes ``cache`` no deletion, once it tried to pay
    what it owes. Never raises: a cache that fails is logged."""
    if not _owed:
        return True
    try:
        pay(cache)
    except Exception:
        logger.warning(
            "The identity cache could not be invalidated: it is not read.",
            exc_info=True,
        )
        return False
    return True
