"""`Demultiplexer`, detached tasks, pushes and `@action(method=)`: the types users see."""

from __future__ import annotations

import asyncio
from typing import Any, assert_type

from typed_dcrf import AsyncAPIConsumer, Demultiplexer, Response, action, detached
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import ASGIApp


class Notes(AsyncAPIConsumer):
    @action(method="GET")
    async def count(self) -> Response[int]:
        task = self.start_task(self.tally(3))
        _ = assert_type(task, asyncio.Task[int])
        await self.reply("counted", {"n": 3}, request_id=1)
        await self.send_json([1, "two", None])
        await self.send_envelope('{"raw": true}')
        return Response.ok(await task)

    async def tally(self, n: int) -> int:
        return n

    @detached
    async def note_added(self, message: dict[str, Any]) -> None:
        await self.reply("note_added", message.get("text"))

    async def on_message(self, message: dict[str, Any]) -> None:
        _ = assert_type(await self.note_added(message), asyncio.Task[None])


class Streams(Demultiplexer):
    streams = {"notes": Notes}


assert_type(Demultiplexer.as_asgi(notes=Notes), ASGIApp)
assert_type(Streams.as_asgi(), ASGIApp)
assert_type(Notes().stream, str | None)


async def client() -> None:
    async with ApiClient(Streams, stream_name="notes") as streams:
        assert_type((await streams.call(Notes.count)).data, int)
