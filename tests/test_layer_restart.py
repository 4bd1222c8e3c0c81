"""The channel layer's Redis restarted while clients are subscribed, under two uvicorn
processes: it comes back empty, their group memberships gone. Every subscription of both
processes ends once with a 503 frame saying to subscribe again; the servers answer actions
meanwhile (a subscription, which needs the layer, is a 503); subscribed again, each client gets
every change once; a list subscription resumed from before the restart is a 410 (its log was
in Redis)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import cast

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.frames import envelope
from tests.redis_process import RedisServer, redis_server
from tests.server.process import Running, migrate, serve, server_environment
from typed_dcrf._subscriptions import INTERRUPTED
from typed_dcrf.types import JSONObject, JSONValue

TIMEOUT = 15.0
UNAVAILABLE = ["Service temporarily unavailable, try again later."]
CLIENTS = 3
"""Instance and list subscribers per server."""


@dataclass(frozen=True)
class Cluster:
    redis: RedisServer
    servers: tuple[Running, Running]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two uvicorn processes on one SQLite file and a Redis layer of this module's own."""
    if os.environ.get("TEST_DB") == "postgres":
        pytest.skip("runs in the SQLite pass: the servers use a SQLite file of their own")
    directory = tmp_path_factory.mktemp("restart")
    with redis_server(directory) as redis:
        environment = server_environment(
            directory,
            DJANGO_SETTINGS_MODULE="tests.server.fault_settings",
            TYPED_DCRF_FAULT_REDIS=redis.url,
            TYPED_DCRF_REDIS_PREFIX="typed_dcrf_restart",  # one for both processes
        )
        migrate(environment)
        with (
            serve("uvicorn", environment, directory / "first.log") as first,
            serve("uvicorn", environment, directory / "second.log") as second,
        ):
            yield Cluster(redis, (first, second))


async def receive(client: ClientConnection) -> JSONObject:
    async with asyncio.timeout(TIMEOUT):
        return cast("JSONObject", json.loads(await client.recv()))


async def ask(client: ClientConnection, frame: JSONObject) -> JSONObject:
    await client.send(json.dumps(frame))
    return await receive(client)


async def until_reply(client: ClientConnection, request_id: str) -> JSONObject:
    """Skip a list subscription's pages: its 201 (or an error)."""
    while True:
        frame = await receive(client)
        if frame["request_id"] == request_id and frame["response_status"] != 206:
            return frame


def url(running: Running, route: str) -> str:
    return f"ws://127.0.0.1:{running.port}/ws/{route}/"


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


async def subscribe_list(client: ClientConnection, since: JSONValue = None) -> JSONObject:
    frame: JSONObject = {"action": "subscribe_list", "request_id": "l", "min_rank": 700}
    frame["seq"] = True
    if since is not None:
        frame["since"] = since
    await client.send(json.dumps(frame))
    return await until_reply(client, "l")


async def test_a_redis_restart_ends_every_subscription_once_then_they_are_made_again(
    cluster: Cluster, stack: AsyncExitStack
) -> None:
    first = cluster.servers[0]

    async def open_(running: Running, route: str) -> ClientConnection:
        return await stack.enter_async_context(connect(url(running, route), proxy=None))

    items, tasks = await open_(first, "observed"), await open_(first, "tasks")
    created = await ask(items, {"action": "create", "data": {"name": "r", "slug": "restart"}})
    pk = cast("JSONObject", created["data"])["id"]
    watching = [await open_(server, "observed") for server in cluster.servers * CLIENTS]
    listing = [await open_(server, "tasks") for server in cluster.servers * CLIENTS]
    for client in watching:
        subscribed = await ask(
            client, {"action": "subscribe_instance", "pk": pk, "request_id": "i"}
        )
        assert subscribed["response_status"] == 201
    for client in listing:
        assert (await subscribe_list(client))["response_status"] == 201

    async def patch(name: str) -> JSONObject:
        frame: JSONObject = {"action": "patch", "pk": pk, "data": {"name": name}}
        patched = await ask(items, frame)
        assert patched["response_status"] == 200
        return envelope("update", 200, data=patched["data"], request_id="i")

    async def create_task(title: str) -> None:
        data: JSONObject = {"title": title, "rank": 700}
        assert (await ask(tasks, {"action": "create", "data": data}))["response_status"] == 201

    before = await patch("before")
    await create_task("before")
    seqs: list[JSONValue] = []
    for client in watching:
        assert await receive(client) == before
    for client in listing:
        event = await receive(client)
        assert (event["action"], event["request_id"]) == ("create", "l")
        seqs.append(event["seq"])

    cluster.redis.stop()
    # Meanwhile: an action without the layer is answered, a subscription is a 503.
    retrieved = await ask(items, {"action": "retrieve", "pk": pk, "request_id": 1})
    assert retrieved["response_status"] == 200
    await patch("meanwhile")  # saved; its event cannot be sent (logged)
    await create_task("meanwhile")
    refused = await ask(items, {"action": "subscribe_instance", "pk": pk, "request_id": "x"})
    assert (refused["response_status"], refused["errors"]) == (503, UNAVAILABLE)
    cluster.redis.start()  # empty

    for client in watching:
        ended = await receive(client)
        assert ended == envelope("subscribe_instance", 503, errors=[INTERRUPTED], request_id="i")
    for client in listing:
        ended = await receive(client)
        assert ended == envelope("subscribe_list", 503, errors=[INTERRUPTED], request_id="l")

    for client in watching:
        subscribed = await ask(
            client, {"action": "subscribe_instance", "pk": pk, "request_id": "i"}
        )
        assert subscribed["response_status"] == 201
    for client, seq in zip(listing, seqs, strict=True):
        resumed = await subscribe_list(client, since=seq)
        assert (resumed["response_status"], resumed["errors"]) == (
            410,
            [f"The changes since seq {seq} are gone: subscribe again without since."],
        )
        assert (await subscribe_list(client))["response_status"] == 201

    # Each change once, in order: a copy of the first would come before the second.
    after, again = await patch("after"), await patch("again")
    await create_task("after")
    await create_task("again")
    for client in watching:
        assert [await receive(client), await receive(client)] == [after, again]
    for client in listing:
        titles = [cast("JSONObject", (await receive(client))["data"])["title"] for _ in "ab"]
        assert titles == ["after", "again"]
