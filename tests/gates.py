"""Work that waits for the test to release it, recording how it ended: for detached actions
and tasks."""

from __future__ import annotations

import asyncio


class Gates:
    """Events shared by a test and the work it starts; ``reset()`` before every test."""

    started = asyncio.Event()
    release = asyncio.Event()
    finished: list[str] = []
    cancelled: list[str] = []

    @classmethod
    def reset(cls) -> None:
        cls.started = asyncio.Event()
        cls.release = asyncio.Event()
        cls.finished = []
        cls.cancelled = []


async def held(label: str) -> str:
    """Wait for the release; ``label`` is recorded as finished or cancelled."""
    Gates.started.set()
    try:
        await Gates.release.wait()
    except asyncio.CancelledError:
        Gates.cancelled.append(label)
        raise
    Gates.finished.append(label)
    return label
