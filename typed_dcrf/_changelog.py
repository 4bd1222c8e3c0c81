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
    began: int
    """The log holds every change after this version, but for those dropped."""
    dropped: int = 0
    """The newest version the log let go of (trimmed, or logged after it was trimmed past)."""

    def holds(self, version: int, overlap: int) -> bool:
        """Whether every change after ``version - overlap`` is here (those after
        ``version`` at least since the log began)."""
        return version >= self.began and version - overlap >= self.dropped


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
            if kept is None:
                return
            if version <= max(kept.began, kept.dropped):  # too late to be logged: dropped
                kept.dropped = max(kept.dropped, version)
                return
            bisect.insort(kept.entries, (version, entry), key=lambda item: item[0])
            if len(kept.entries) > size:
                kept.dropped = max(kept.dropped, kept.entries[-size - 1][0])
                del kept.entries[: len(kept.entries) - size]

    def since(self, log: str, version: int, overlap: int = 0) -> list[Entry] | None:
        with self.lock:
            kept = self.logs.get(log)
            if kept is None or version > self.last or not kept.holds(version, overlap):
                return None
            return [entry for taken, entry in kept.entries if taken > version - overlap]


# A Redis log is one sorted set: its entries scored by version, and two marks, members
# "~began" and "~dropped", so that the log and its marks expire (or are evicted) together.
# Versions go to Redis as strings (Lua would write a number with 14 digits): `%d` or ARGV.

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

# KEYS[2]: the log. ARGV[2]: seconds kept.
_KEEP = (
    _TICK
    + """
if not redis.call('ZSCORE', KEYS[2], '~began') then
  redis.call('ZADD', KEYS[2], string.format('%d', version), '~began', 0, '~dropped')
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return version
"""
)

# KEYS: the log. ARGV: version, the version before it, entry, size, seconds kept.
_APPEND = """
local version = tonumber(ARGV[1])
local began = redis.call('ZSCORE', KEYS[1], '~began')
if not began then
  redis.call('ZADD', KEYS[1], ARGV[2], '~began', 0, '~dropped')
  began = ARGV[2]
end
local dropped = tonumber(redis.call('ZSCORE', KEYS[1], '~dropped'))
if version <= math.max(tonumber(began), dropped) then
  if version > dropped then redis.call('ZADD', KEYS[1], ARGV[1], '~dropped') end
else
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
  local extra = redis.call('ZCARD', KEYS[1]) - 2 - tonumber(ARGV[4])
  if extra > 0 then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, extra + 1, 'WITHSCORES')
    local removed = 0
    for i = 1, #oldest, 2 do
      if removed < extra and string.sub(oldest[i], 1, 1) ~= '~' then
        redis.call('ZREM', KEYS[1], oldest[i])
        removed = removed + 1
        dropped = math.max(dropped, tonumber(oldest[i + 1]))
      end
    end
    redis.call('ZADD', KEYS[1], string.format('%d', dropped), '~dropped')
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# KEYS: the clock, the log. ARGV: version, the version to read from.
_SINCE = """
local version = tonumber(ARGV[1])
local began = redis.call('ZSCORE', KEYS[2], '~began')
if not began or version < tonumber(began) then return false end
if version > tonumber(redis.call('GET', KEYS[1]) or '0') then return false end
if tonumber(ARGV[2]) < tonumber(redis.call('ZSCORE', KEYS[2], '~dropped')) then return false end
return redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[2], '+inf')
"""

LOG_SECONDS = 86400
"""How long a log that receives nothing is kept in Redis."""

IDLE_SECONDS = 600.0
"""How long this process keeps an in-memory log after its observer's last subscription ended
(for clients that come back); then changes are no longer read for it."""


class RedisChangelog:
    """The clock and logs in the Redis of a channels-redis layer (its first host), under the
    layer's prefix. A log whose key is gone (expired, evicted, or Redis restarted) holds
    nothing."""

    def __init__(self, host: Mapping[str, Any], prefix: str) -> None:  # redis-py's arguments
        self._client: Any = _client(host)  # redis-py's client is typed with Any throughout
        self._prefix = f"{prefix}:typed_dcrf:"
        self._next = self._client.register_script(_NEXT_VERSION)
        self._keep = self._client.register_script(_KEEP)
        self._append = self._client.register_script(_APPEND)
        self._since = self._client.register_script(_SINCE)

    def _keys(self, log: str) -> tuple[str, str]:
        """The clock and the log."""
        return self._prefix + "clock", self._prefix + "log:" + log

    def next_version(self) -> int:
        return int(self._next(keys=[self._prefix + "clock"], args=[now_us()]))

    def keep(self, log: str) -> None:
        self._keep(keys=list(self._keys(log)), args=[now_us(), LOG_SECONDS])

    def forget(self, log: str) -> None:
        return  # every process logs every change: a Redis log is never left behind

    def append(self, log: str, version: int, entry: Entry, size: int) -> None:
        _, kept = self._keys(log)
        arguments = [version, version - 1, json.dumps(entry), size, LOG_SECONDS]
        self._append(keys=[kept], args=arguments)

    def since(self, log: str, version: int, overlap: int = 0) -> list[Entry] | None:
        found = self._since(keys=list(self._keys(log)), args=[version, version - overlap])
        if found is None:
            return None
        items = cast("list[bytes]", found)
        return [cast("Entry", json.loads(item)) for item in items if not item.startswith(b"~")]


def _client(host: Mapping[str, Any]) -> Any:  # redis-py's clients are typed with Any
    """A redis-py client for one of channels-redis's ``hosts`` entries (an address, a
    Sentinel set-up, or connection options)."""
    import redis  # channels-redis's own dependency: present wherever its layer is
    import redis.sentinel

    options = dict(host)
    address = options.pop("address", None)
    master_name = options.pop("master_name", None)
    if master_name is not None:
        sentinels = options.pop("sentinels")
        sentinel_kwargs = options.pop("sentinel_kwargs", None)
        sentinel: Any = redis.sentinel.Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        return sentinel.master_for(master_name, **options)
    factory: Any = redis.Redis
    if address is not None:
        return factory.from_url(str(address), **options)
    return factory(**options)


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
