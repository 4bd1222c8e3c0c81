"""Versions and the change log of list subscriptions, kept where the channel layer is.

A version is taken before a row is read, from one clock for every process of the layer (Redis
``INCR``, or this process's own counter for the in-memory layer), and never goes back: it is the
microseconds since the epoch, or one more than the last version if that is larger. So of two
reads of one row, the one with the larger version saw a state at least as new, and a version
survives a restart of the clock's keeper. The log keeps a list observer's latest events (a
bounded Redis sorted set, or a list), for clients that resume; its mark says from which version
on it holds every change, so that it can tell when it no longer holds what a client missed.
"""

from __future__ import annotations

import bisect
import importlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol, cast

from channels import DEFAULT_CHANNEL_LAYER
from django.conf import settings
from django.core.signals import setting_changed

from typed_dcrf.types import JSONValue

Entry = Mapping[str, JSONValue]
"""One logged event: the layer message, its version included."""


def now_us() -> int:
    return time.time_ns() // 1000


class Changelog(Protocol):
    """The clock and the logs of one channel layer."""

    def next_version(self) -> int:
        """A version larger than every one taken before, by any process of the layer."""
        ...

    def keep(self, log: str) -> None:
        """Keep ``log`` from now on (a list subscription begins): a log that did not exist
        begins at the clock's version, and holds nothing from before."""
        ...

    def forget(self, log: str) -> None:
        """Stop keeping ``log``: changes are no longer logged (nobody listens), so it can no
        longer be resumed from."""
        ...

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        """Keep ``entry`` in ``log``, which holds the latest ``size`` entries."""
        ...

    def since(self, log: str, version: int, overlap: int = 0) -> list[Entry] | None:
        """``log``'s entries after ``version - overlap`` (those it still has), oldest first;
        ``None`` when the log does not hold every change after ``version`` (it dropped some,
        began later, or the version is not the clock's)."""
        ...


@dataclass(eq=False)
class ClockOnly:
    """A layer other than these two: versions from this machine's clock (the machines of
    several processes need theirs in step), and no log: a client cannot resume."""

    last: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_version(self) -> int:
        with self.lock:
            self.last = max(self.last + 1, now_us())
            return self.last

    def keep(self, log: str) -> None:
        return

    def forget(self, log: str) -> None:
        return

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        return

    def since(self, log: str, version: int, overlap: int = 0) -> list[Entry] | None:
        return None


@dataclass(eq=False)
class _Log:
    entries: list[tuple[int, Entry]]
    """By version."""
    covers: int
    """The log holds every change after this version."""


@dataclass(eq=False)
class MemoryChangelog(ClockOnly):
    """This process's clock and logs (the in-memory layer's processes are alone)."""

    logs: dict[str, _Log] = field(default_factory=dict[str, _Log])

    def keep(self, log: str) -> None:
        if log not in self.logs:
            self.logs[log] = _Log([], self.next_version())

    def forget(self, log: str) -> None:
        self.logs.pop(log, None)

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        with self.lock:
            kept = self.logs.get(log)
            if kept is None or version <= kept.covers:
                return  # not kept, or older than what the log already let go of
            bisect.insort(kept.entries, (version, entry), key=lambda item: item[0])
            if len(kept.entries) > size:
                kept.covers = kept.entries[-size - 1][0]
                del kept.entries[: len(kept.entries) - size]

    def since(self, log: str, version: int, overlap: int = 0) -> list[Entry] | None:
        with self.lock:
            kept = self.logs.get(log)
            if kept is None or version > self.last or version < kept.covers:
                return None
            return [entry for taken, entry in kept.entries if taken > version - overlap]


# KEYS[1]: the clock. ARGV[1]: the time in microseconds.
_TICK = """
local version = redis.call('INCR', KEYS[1])
local now = tonumber(ARGV[1])
if version < now then
  redis.call('SET', KEYS[1], ARGV[1])
  version = now
end
"""

_NEXT_VERSION = _TICK + "return version"

# KEYS[2]: the log's mark. ARGV[2]: seconds kept.
_KEEP = (
    _TICK
    + """
redis.call('SET', KEYS[2], version, 'NX')
redis.call('EXPIRE', KEYS[2], ARGV[2])
return version
"""
)

# KEYS: the log, its mark. ARGV: version, entry, size, seconds kept.
_APPEND = """
local version = tonumber(ARGV[1])
if version <= tonumber(redis.call('GET', KEYS[2]) or '0') then return 0 end
redis.call('SET', KEYS[2], version - 1, 'NX')
redis.call('ZADD', KEYS[1], version, ARGV[2])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then
  local last = redis.call('ZRANGE', KEYS[1], extra - 1, extra - 1, 'WITHSCORES')
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  redis.call('SET', KEYS[2], last[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""

# KEYS: the clock, the log, its mark. ARGV: version, the version to read from.
_SINCE = """
local version = tonumber(ARGV[1])
local covers = redis.call('GET', KEYS[3])
if not covers or version < tonumber(covers) then return false end
if version > tonumber(redis.call('GET', KEYS[1]) or '0') then return false end
return redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf')
"""

LOG_SECONDS = 86400
"""How long a log that receives nothing is kept in Redis."""

IDLE_SECONDS = 600.0
"""How long this process keeps an in-memory log after its observer's last subscription ended
(for clients that come back); then changes are no longer read for it."""


class RedisChangelog:
    """The clock and logs in the Redis of a channels-redis layer (its first host), under the
    layer's prefix. A log's mark says from which version it holds every change; a log whose
    keys are gone (expired, or Redis restarted) holds nothing."""

    def __init__(self, host: Mapping[str, Any], prefix: str) -> None:  # redis-py's arguments
        import redis  # channels-redis's own dependency: present wherever its layer is

        options = dict(host)
        address = options.pop("address", None)
        factory: Any = redis.Redis  # its options are typed with Any throughout
        client: Any
        if address is not None:
            client = factory.from_url(str(address), **options)
        else:
            client = factory(**options)
        self._client = client
        self._prefix = f"{prefix}:typed_dcrf:"
        self._next = client.register_script(_NEXT_VERSION)
        self._keep = client.register_script(_KEEP)
        self._append = client.register_script(_APPEND)
        self._since = client.register_script(_SINCE)

    def _keys(self, log: str) -> tuple[str, str, str]:
        """The clock, the log and its mark."""
        prefix = self._prefix
        return prefix + "clock", prefix + "log:" + log, prefix + "covers:" + log

    def next_version(self) -> int:
        return int(self._next(keys=[self._prefix + "clock"], args=[now_us()]))

    def keep(self, log: str) -> None:
        clock, _, covers = self._keys(log)
        self._keep(keys=[clock, covers], args=[now_us(), LOG_SECONDS])

    def forget(self, log: str) -> None:
        return  # every process logs every change: a Redis log is never left behind

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        _, kept, covers = self._keys(log)
        self._append(keys=[kept, covers], args=[version, json.dumps(entry), size, LOG_SECONDS])

    def since(self, log: str, version: int, overlap: int = 0) -> list[Entry] | None:
        found = self._since(keys=list(self._keys(log)), args=[version, version - overlap])
        if found is None:
            return None
        return [cast("Entry", json.loads(item)) for item in found]


@cache
def changelog() -> Changelog:
    """The changelog of the default channel layer, as the settings configure it."""
    layers: Mapping[str, Mapping[str, Any]] = getattr(settings, "CHANNEL_LAYERS", {})
    configured = layers.get(DEFAULT_CHANNEL_LAYER, {})
    backend = str(configured.get("BACKEND", ""))
    config: Mapping[str, Any] = configured.get("CONFIG", {})
    if backend.startswith("channels_redis."):
        # The layer's own reading of `hosts` (channels-redis ships no type information).
        utils = importlib.import_module("channels_redis.utils")
        hosts: list[Mapping[str, Any]] = utils.decode_hosts(config.get("hosts"))
        return RedisChangelog(hosts[0], str(config.get("prefix", "asgi")))
    if backend == "channels.layers.InMemoryChannelLayer":
        return MemoryChangelog()
    return ClockOnly()


def _reset(*, setting: str, **_: object) -> None:
    if setting == "CHANNEL_LAYERS":
        changelog.cache_clear()


# django-stubs leave Signal.connect's receiver partly unknown to pyright.
setting_changed.connect(_reset)  # pyright: ignore[reportUnknownMemberType]
