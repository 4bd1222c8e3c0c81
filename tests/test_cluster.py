"""Several processes: a uvicorn and a daphne server sharing one database and one Redis channel
layer. A change made through a client of one reaches a subscriber of the other, also after the
subscriber sat idle for 30 seconds (redis-py 8's socket timeout, channels_redis#422)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import require
from tests.frames import envelope
from tests.server.process import Running, migrate, serve, server_environment
from typed_dcrf.types import JSONObject

IDLE = 30.0
"""Seconds the subscriber waits before the change: six times redis-py 8's 5 s timeout."""
TIMEOUT = 10.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Running]]:
    """A uvicorn and a daphne process on one SQLite file and one Redis layer."""
    if os.environ.get("TEST_DB") == "postgres":
        pytest.skip("runs in the SQLite pass: the servers use a SQLite file of their own")
    require("Redis", 6379)
    directory = tmp_path_factory.mktemp("cluster")
    environment = server_environment(
        directory,
        TEST_LAYER="redis",
        TYPED_DCRF_REDIS_PREFIX=f"typed_dcrf_cluster_{os.getpid()}",
    )
    migrate(environment)
    with (
        serve("uvicorn", environment, directory / "uvicorn.log") as first,
        serve("daphne", environment, directory / "daphne.log") as second,
    ):
        yield first, second


async def ask(client: ClientConnection, frame: JSONObject) -> JSONObject:
    await client.send(json.dumps(frame))
    return await receive(client)


async def receive(client: ClientConnection) -> JSONObject:
    async with asyncio.timeout(TIMEOUT):
        return cast("JSONObject", json.loads(await client.recv()))


def url(running: Running) -> str:
    return f"ws://127.0.0.1:{running.port}/ws/observed/"


async def test_a_change_through_one_server_reaches_a_subscriber_of_the_other(
    cluster: tuple[Running, Running], tmp_path: Path
) -> None:
    """A client of uvicorn creates and patches an item; a subscriber on daphne, idle for 30 s
    in between, receives the update with its subscription's request_id."""
    editing, watching = cluster
    async with (
        connect(url(editing), proxy=None) as editor,
        connect(url(watching), proxy=None) as watcher,
    ):
        data: JSONObject = {"name": "milk", "slug": "cluster-milk"}
        created = await ask(editor, {"action": "create", "data": data, "request_id": 1})
        pk = cast("JSONObject", created["data"])["id"]
        subscribed = await ask(
            watcher, {"action": "subscribe_instance", "pk": pk, "request_id": "w"}
        )
        assert subscribed == envelope("subscribe_instance", 201, request_id="w")
        await asyncio.sleep(IDLE)
        patch: JSONObject = {"action": "patch", "pk": pk, "data": {"done": True}, "request_id": 2}
        patched = await ask(editor, patch)
        event = await receive(watcher)
    assert event == envelope("update", 200, data=patched["data"], request_id="w")
