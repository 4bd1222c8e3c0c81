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
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from typing_extensions import ParamSpec

from typed_dcrf._exception_handler import LAYER_UNAVAILABLE, logger
from typed_dcrf.conf import get_settings

P = ParamSpec("P")
R = TypeVar("R")

MARKER_CHECKS = 20
"""A marker expires this many check intervals after its last check (at least a minute): a
process killed leaves it that long, and a process stalled that long ends its subscriptions."""


async def layer_call(call: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
    """``await call(*args, **kwargs)``, a channel layer's; tried once more if the layer cannot be
    reached (a connection of its pool was cut): the second failure is raised. For idempotent
    calls only (``group_add``, ``group_discard``, the marker's): a ``group_send`` cut after
    Redis ran it would be delivered twice."""
    try:
        return await call(*args, **kwargs)
    except LAYER_UNAVAILABLE:
        return await call(*args, **kwargs)


class Interruptible(Protocol):
    """What a watch is for: a connection's subscriptions, to end when the layer may have lost
    their groups and events."""

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
    members: set[Interruptible] = field(default_factory=set[Interruptible])
    marking: asyncio.Future[None] | None = None
    """The first marking, that every member joining meanwhile waits for."""
    task: asyncio.Task[None] | None = None

    @property
    def expiry(self) -> int:
        return max(60, math.ceil(MARKER_CHECKS * self.interval))

    @property
    def over(self) -> bool:
        """Its first marking failed, or its checks ended: a new watch is needed."""
        marking = self.marking
        failed = (
            marking is not None
            and marking.done()
            and (marking.cancelled() or marking.exception() is not None)
        )
        return failed or (self.task is not None and self.task.done())

    async def mark(self) -> None:
        for client in self.connections:
            await client.set(self.marker, "1", ex=self.expiry)

    async def still_marked(self) -> bool:
        """Whether every Redis still has the marker; its expiry is renewed on the way."""
        found = True
        for client in self.connections:
            found = bool(await client.expire(self.marker, self.expiry)) and found
        return found

    async def run(self) -> None:
        lost = False
        while True:
            await asyncio.sleep(self.interval)
            try:
                if await layer_call(self.still_marked) and not lost:
                    continue
                await layer_call(self.mark)
            except Exception as exc:  # unreachable, or refusing (a read-only replica, full)
                if not lost:
                    logger.warning(
                        "The channel layer cannot be reached, or refused a check: %r", exc
                    )
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


_watches: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[object, LayerWatch]
] = weakref.WeakKeyDictionary()
"""The watches of each event loop, by layer (gone with the layer, and with the loop once it is
closed: a watch's task holds its loop)."""


def _of_loop() -> weakref.WeakKeyDictionary[object, LayerWatch]:
    loop = asyncio.get_running_loop()
    watches = _watches.get(loop)
    if watches is None:
        for closed in [other for other in _watches if other.is_closed()]:
            del _watches[closed]
        watches = _watches[loop] = weakref.WeakKeyDictionary()
    return watches


async def join(member: Interruptible, layer: object) -> None:
    """Watch ``layer`` for ``member`` (raises the layer's error when it cannot be reached)."""
    interval = get_settings().layer_check_seconds
    connections = _redis_connections(layer) if interval > 0 else None
    if connections is None:
        return
    watches = _of_loop()
    while True:
        watch = watches.get(layer)
        if watch is None or watch.over:
            prefix = str(getattr(layer, "prefix", ""))
            marker = f"{prefix}typed_dcrf.watch.{uuid.uuid4().hex}"
            watch = watches[layer] = LayerWatch(connections, interval, marker)
            watch.marking = asyncio.ensure_future(layer_call(watch.mark))
        marking = watch.marking
        assert marking is not None
        try:
            await asyncio.shield(marking)  # one member's cancellation stops no one else's join
        except BaseException:
            if marking.done() and watches.get(layer) is watch:
                del watches[layer]
            raise
        if watches.get(layer) is not watch:
            continue  # its last member left while this one waited: a new watch
        if watch.task is None:
            watch.task = asyncio.create_task(watch.run())
        watch.members.add(member)
        return


def leave(member: Interruptible, layer: object) -> None:
    """``member`` has no subscription left: the watch stops with the last one."""
    try:
        watches = _of_loop()
    except RuntimeError:
        return
    watch = None if layer is None else watches.get(layer)
    if watch is None:
        return
    watch.members.discard(member)
    if not watch.members and watch.task is not None:
        del watches[layer]
        if watch.task is not asyncio.current_task():
            watch.task.cancel()
