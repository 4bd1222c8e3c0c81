"""The events waiting to be sent to one client: bounded, then the latest state per subscription
and row, then a close.

Events go out through a task of their own, so a client that reads slowly holds up nothing but
its own events. The task waits while the server holds more than ``high_water`` bytes for the
client, where the server lets that be seen (an asyncio transport behind its ``send``, as
uvicorn's; daphne's is not: it buffers, and its ping timeout ends a client that stopped
reading). Meanwhile a newer event of a subscription's row replaces the one waiting, in its
place; when ``capacity`` distinct ones wait, the client is closed with ``SLOW_CLIENT``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import cast

SLOW_CLIENT = 4429
"""The close code of a client that does not read its events (``MAX_OUTGOING_EVENTS`` wait)."""

_POLL = 0.02
"""Seconds between looks at the server's buffer, while it is over the high-water mark."""


def buffered_bytes(server_send: object) -> Callable[[], int] | None:
    """How many bytes the server holds for the client, where its ``send`` is a method of a
    protocol with an asyncio transport (uvicorn's); ``None`` where that cannot be seen."""
    transport = getattr(getattr(server_send, "__self__", None), "transport", None)
    size = getattr(transport, "get_write_buffer_size", None)  # asyncio's and uvloop's alike
    if not callable(size):
        return None
    return lambda: int(cast("int", size()))


class Outbox:
    """The frames waiting for one client, by key (a subscription and a row)."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        buffered: Callable[[], int | None] = lambda: None,
        *,
        high_water: int = 1_048_576,
    ) -> None:
        self._send = send
        self._buffered = buffered
        self._high_water = high_water
        self._waiting: dict[str, str] = {}  # insertion-ordered: the order they go out in
        self._sender: asyncio.Task[None] | None = None

    def put(self, key: str, frame: str, *, capacity: int) -> bool:
        """Queue ``frame`` (replacing a waiting one of ``key``); ``False`` when ``capacity``
        frames of other keys wait already."""
        if key not in self._waiting and len(self._waiting) >= capacity:
            return False
        self._waiting[key] = frame
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._drain())
        return True

    def discard(self, prefix: str) -> None:
        """Drop the waiting frames whose key starts with ``prefix`` (a subscription's)."""
        for key in [key for key in self._waiting if key.startswith(prefix)]:
            del self._waiting[key]

    async def _drain(self) -> None:
        while self._waiting:
            key = next(iter(self._waiting))
            await self._send(self._waiting.pop(key))
            # Polled: an ASGI application is not told when the server's buffer drains.
            while (self._buffered() or 0) > self._high_water:  # noqa: ASYNC110
                await asyncio.sleep(_POLL)

    async def close(self) -> None:
        """Drop what waits (the connection is closing)."""
        self._waiting.clear()
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
