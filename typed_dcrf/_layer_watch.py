"""Watching a Redis channel layer for a restart, while this process has subscriptions.

A Redis that restarts comes back empty: the group memberships of every subscription are gone,
and the events sent while it was away are lost. Neither channels-redis nor the consumers hear
of it. So, while a process has subscriptions, it keeps a marker key of its own in each of the
layer's Redis servers and checks it every ``LAYER_CHECK_SECONDS``: when a marker is gone (Redis
restarted or was flushed), or Redis could not be reached and is back, every subscription of the
process ends with a 503 frame, and its client subscribes again.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from typing_extensions import ParamSpec

from typed_dcrf._exception_handler import UNAVAILABLE, logger
from typed_dcrf.conf import get_settings

P = ParamSpec("P")
R = TypeVar("R")

INTERRUPTED = "This subscription's events were interrupted: subscribe again."
"""The 503 detail that ends a subscription whose events the layer may have lost."""

MARKER_CHECKS = 20
"""A marker expires this many check intervals after its last check (at least a minute): a
process killed leaves it that long, and a process stalled that long ends its subscriptions."""


async def layer_call(call: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
    """``await call(*args, **kwargs)``, a channel layer's; tried once more if the layer cannot be
    reached (a connection of its pool was cut): the second failure is raised."""
    try:
        return await call(*args, **kwargs)
    except UNAVAILABLE:
        return await call(*args, **kwargs)


class Watched(Protocol):
    """A connection's subscriptions."""

    async def interrupt(self) -> None:
        """End every subscription with the 503 frame: their events may have been lost."""
        ...


def _redis_connections(layer: Any) -> list[Any] | None:  # channels-redis ships no types
    """The redis-py clients of a channels-redis ``RedisChannelLayer``, one per host; ``None``
    for another layer."""
    if not (hasattr(layer, "ring_size") and hasattr(layer, "connection")):
        return None
    return [layer.connection(index) for index in range(int(layer.ring_size))]


@dataclass(eq=False)
class LayerWatch:
    """The watch of one layer on one event loop."""

    connections: list[Any]  # redis-py's asyncio clients, typed with Any
    interval: float
    marker: str
    members: set[Watched] = field(default_factory=set[Watched])
    task: asyncio.Task[None] | None = None

    @property
    def expiry(self) -> int:
        return max(60, math.ceil(MARKER_CHECKS * self.interval))

    async def mark(self) -> None:
        for client in self.connections:
            await client.set(self.marker, "1", ex=self.expiry)

    async def marked(self) -> bool:
        """Whether every Redis still has the marker (its expiry renewed)."""
        found = True
        for client in self.connections:
            found = bool(await client.expire(self.marker, self.expiry)) and found
        return found

    async def run(self) -> None:
        lost = False
        while True:
            await asyncio.sleep(self.interval)
            try:
                if await self.marked() and not lost:
                    continue
                await self.mark()
            except UNAVAILABLE as exc:
                if not lost:
                    logger.warning("The channel layer cannot be reached: %r", exc)
                lost = True
                continue
            logger.warning(
                "The channel layer restarted or was unreachable: ending the subscriptions of "
                "%d connections with a 503, to be made again",
                len(self.members),
            )
            lost = False
            for member in list(self.members):
                try:
                    await member.interrupt()
                except Exception:  # one connection's failure ends nobody else's subscriptions
                    logger.exception("Ending the subscriptions of a connection failed")
            if not self.members:
                return  # the last left: this watch is over (a new one starts with the next)


_watches: dict[tuple[int, int], LayerWatch] = {}


async def join(member: Watched, layer: object) -> None:
    """Watch ``layer`` for ``member`` (raises the layer's error when it cannot be reached)."""
    interval = get_settings().layer_check_seconds
    connections = _redis_connections(layer) if interval > 0 else None
    if connections is None:
        return
    key = (id(asyncio.get_running_loop()), id(layer))
    watch = _watches.get(key)
    if watch is None:
        prefix = str(getattr(layer, "prefix", ""))
        watch = LayerWatch(connections, interval, f"{prefix}typed_dcrf.watch.{uuid.uuid4().hex}")
        _watches[key] = watch
        try:
            await layer_call(watch.mark)
        except BaseException:
            del _watches[key]
            raise
        watch.task = asyncio.create_task(watch.run())
    watch.members.add(member)


def leave(member: Watched, layer: object) -> None:
    """``member`` has no subscription left: the watch stops with the last one."""
    try:
        key = (id(asyncio.get_running_loop()), id(layer))
    except RuntimeError:
        return
    watch = _watches.get(key)
    if watch is None:
        return
    watch.members.discard(member)
    if not watch.members:
        del _watches[key]
        if watch.task is not None and watch.task is not asyncio.current_task():
            watch.task.cancel()
