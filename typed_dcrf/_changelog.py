"""Versions and the change log of list subscriptions, kept where the channel layer is.

A version is taken before a row is read, from one clock for every process of the layer (Redis
``INCR``, or this process's own counter for the in-memory layer), and never goes back: it is the
microseconds since the epoch, or one more than the last version if that is larger. So of two
reads of one row, the one with the larger version saw a state at least as new, and a version
survives a restart of the clock's keeper. The log keeps a list observer's latest events (a
bounded Redis sorted set, or a deque), for clients that resume; it remembers the newest version
it has dropped, so that it can tell when it no longer holds what a client missed.
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
    """The clock and the log of one channel layer."""

    def next_version(self) -> int:
        """A version larger than every one taken before, by any process of the layer."""
        ...

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        """Keep ``entry`` in ``log``, which holds the latest ``size`` entries."""
        ...

    def since(self, log: str, version: int) -> list[Entry] | None:
        """``log``'s entries after ``version``, oldest first; ``None`` when the log may have
        dropped some of them (or never had them: ``version`` is newer than the clock)."""
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

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        return

    def since(self, log: str, version: int) -> list[Entry] | None:
        return None


@dataclass(eq=False)
class MemoryChangelog(ClockOnly):
    """This process's clock and logs (the in-memory layer's processes are alone)."""

    logs: dict[str, tuple[list[tuple[int, Entry]], list[int]]] = field(
        default_factory=dict[str, tuple[list[tuple[int, Entry]], list[int]]]
    )
    """Each log's entries, by version, and the newest version it dropped."""

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        with self.lock:
            entries, dropped = self.logs.setdefault(log, ([], [0]))
            if version <= dropped[0]:
                return  # older than what the log already let go of: it counts as dropped
            bisect.insort(entries, (version, entry), key=lambda item: item[0])
            if len(entries) > size:
                dropped[0] = entries[-size - 1][0]
                del entries[: len(entries) - size]

    def since(self, log: str, version: int) -> list[Entry] | None:
        with self.lock:
            entries, dropped = self.logs.get(log, ([], [0]))
            if version > self.last or version < dropped[0]:
                return None
            return [entry for taken, entry in entries if taken > version]


# KEYS: the clock. ARGV: the time in microseconds.
_NEXT_VERSION = """
local version = redis.call('INCR', KEYS[1])
local now = tonumber(ARGV[1])
if version < now then
  redis.call('SET', KEYS[1], ARGV[1])
  version = now
end
return version
"""

# KEYS: the log, its dropped mark. ARGV: version, entry, size, seconds kept.
_APPEND = """
local dropped = tonumber(redis.call('GET', KEYS[2]) or '0')
local version = tonumber(ARGV[1])
if version <= dropped then return 0 end
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

# KEYS: the clock, the log, its dropped mark. ARGV: version.
_SINCE = """
local version = tonumber(ARGV[1])
if version > tonumber(redis.call('GET', KEYS[1]) or '0') then return false end
if version < tonumber(redis.call('GET', KEYS[3]) or '0') then return false end
return redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
"""

LOG_SECONDS = 86400
"""How long a log that receives nothing is kept in Redis."""


class RedisChangelog:
    """The clock and logs in the Redis of a channels-redis layer (its first host), under the
    layer's prefix."""

    def __init__(self, host: Mapping[str, Any], prefix: str) -> None:  # redis-py's arguments
        import redis  # channels-redis's own dependency: present wherever its layer is

        options = dict(host)
        address = options.pop("address", None)
        options.pop("master_name", None)
        options.pop("sentinels", None)
        options.pop("sentinel_kwargs", None)
        factory: Any = redis.Redis  # its options are typed with Any throughout
        client: Any
        if address is not None:
            client = factory.from_url(str(address), **options)
        else:
            client = factory(**options)
        self._client = client
        self._prefix = f"{prefix}:typed_dcrf:"
        self._next = client.register_script(_NEXT_VERSION)
        self._append = client.register_script(_APPEND)
        self._since = client.register_script(_SINCE)

    def next_version(self) -> int:
        return int(self._next(keys=[self._prefix + "clock"], args=[now_us()]))

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        keys = [self._prefix + "log:" + log, self._prefix + "dropped:" + log]
        self._append(keys=keys, args=[version, json.dumps(entry), size, LOG_SECONDS])

    def since(self, log: str, version: int) -> list[Entry] | None:
        if version < now_us() - LOG_SECONDS * 1_000_000:
            return None  # older than the log's keys live when nothing is written
        prefix = self._prefix
        keys = [prefix + "clock", prefix + "log:" + log, prefix + "dropped:" + log]
        found = self._since(keys=keys, args=[version])
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


setting_changed.connect(_reset)  # pyright: ignore[reportUnknownMemberType]
