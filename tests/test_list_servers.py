"""List subscriptions on real servers: uvicorn and daphne on 127.0.0.1, plain and multiplexed,
driven by a real websocket client (the `server` fixture is in conftest.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Literal, cast

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.server.process import Running
from typed_dcrf.types import JSONObject, JSONValue

TIMEOUT = 10.0
Route = Literal["plain", "multiplexed"]


@asynccontextmanager
async def socket_to(running: Running, route: Route) -> AsyncGenerator[ClientConnection]:
    path = "/ws/tasks/" if route == "plain" else "/ws/"
    async with connect(f"ws://127.0.0.1:{running.port}{path}", proxy=None) as client:
        yield client


async def send(client: ClientConnection, route: Route, payload: JSONObject) -> None:
    framed = payload if route == "plain" else {"stream": "tasks", "payload": payload}
    await client.send(json.dumps(framed))


async def frames_until(
    client: ClientConnection, route: Route, done: int
) -> dict[JSONValue, list[JSONObject]]:
    """The frames received, by request_id, until ``done`` of them have come."""
    found: dict[JSONValue, list[JSONObject]] = {}
    async with asyncio.timeout(TIMEOUT):
        for _ in range(done):
            frame = cast("JSONObject", json.loads(await client.recv()))
            if route == "multiplexed":
                assert frame["stream"] == "tasks"
                frame = cast("JSONObject", frame["payload"])
            found.setdefault(frame["request_id"], []).append(frame)
    return found


async def reply_after_pages(client: ClientConnection, route: Route) -> list[JSONObject]:
    """The frames of subscription "w" up to its 201."""
    frames: list[JSONObject] = []
    while not frames or frames[-1]["response_status"] == 206:
        frames += (await frames_until(client, route, 1))["w"]
    return frames


@pytest.mark.parametrize("route", ["plain", "multiplexed"])
async def test_a_list_subscription_over_a_real_server(server: Running, route: Route) -> None:
    """Pages, then the 201, then the events of changes made through another connection: a row
    entering as create, changing as update, leaving as delete."""
    async with socket_to(server, route) as watcher, socket_to(server, route) as editor:
        for number in range(3):
            data: JSONObject = {"title": f"{route}-{number}", "rank": 50}
            await send(editor, route, {"action": "create", "data": data, "request_id": number})
        created = await frames_until(editor, route, 3)
        pks = [cast("JSONObject", created[n][0]["data"])["id"] for n in range(3)]
        await send(
            watcher,
            route,
            {"action": "subscribe_list", "request_id": "w", "min_rank": 50, "page_size": 2},
        )
        snapshot = await reply_after_pages(watcher, route)
        assert [frame["response_status"] for frame in snapshot[:-1]] == [206] * (len(snapshot) - 1)
        assert snapshot[-1]["response_status"] == 201
        assert len(snapshot) >= 3  # pages of two rows (a module's servers keep their rows)
        pages = [cast("JSONObject", frame["data"]) for frame in snapshot[:-1]]
        rows = [
            cast("JSONObject", row)
            for page in pages
            for row in cast("list[JSONValue]", page["results"])
        ]
        assert {cast("int", row["id"]) for row in rows} >= {cast("int", pk) for pk in pks}
        new: JSONObject = {"title": f"{route}-new", "rank": 99}
        await send(editor, route, {"action": "create", "data": new, "request_id": "c"})
        await send(editor, route, {"action": "patch", "pk": pks[0], "data": {"rank": 1}})
        await send(editor, route, {"action": "patch", "pk": pks[1], "data": {"title": "x"}})
        events = (await frames_until(watcher, route, 3))["w"]
    assert [(event["action"], event["response_status"]) for event in events] == [
        ("create", 200),
        ("delete", 204),
        ("update", 200),
    ]
    assert events[1]["data"] == {"pk": pks[0]}
