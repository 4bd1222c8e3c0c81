"""Detached tasks: start_task and @detached run work tied to the connection, counted, logged,
and cancelled on disconnect."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest
from django.test import override_settings

from tests.gates import Gates, held
from typed_dcrf import AsyncAPIConsumer, Response, action, detached
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import ASGIApp, ASGIMessage


@pytest.fixture(autouse=True)
def fresh_gates() -> None:
    Gates.reset()


class Tasks(AsyncAPIConsumer):
    @action
    async def start(self, label: str) -> Response[str]:
        task = self.start_task(held(label))
        return Response.accepted(task.get_name())

    @action
    async def ping(self) -> Response[str]:
        return Response.ok("pong")

    @action(detached=True)
    async def background(self) -> Response[str]:
        return Response.ok(await held("action"))

    @detached
    async def slow_message(self, message: dict[str, Any]) -> None:
        label = await held(str(message["label"]))
        await self.reply("done", label)

    @detached
    async def failing_message(self, message: dict[str, Any]) -> None:
        raise RuntimeError("task failed")


async def test_start_task_runs_while_the_connection_serves() -> None:
    """start_task returns at once; the connection answers other frames while the task runs."""
    async with ApiClient(Tasks) as client:
        started = await client.call(Tasks.start, label="a")
        assert started.status == 202
        await asyncio.wait_for(Gates.started.wait(), 1)
        assert (await client.call(Tasks.ping)).data == "pong"
        Gates.release.set()
        await asyncio.sleep(0.01)
    assert Gates.finished == ["a"]


async def test_detached_layer_handler_returns_at_once() -> None:
    """A @detached channel layer handler runs as a task: frames are served meanwhile, and the
    task pushes its result when released."""
    async with ApiClient(Tasks) as client:
        await client.communicator.send_input({"type": "slow.message", "label": "m"})
        await asyncio.wait_for(Gates.started.wait(), 1)
        assert (await client.call(Tasks.ping)).data == "pong"
        Gates.release.set()
        pushed = await client.receive()
    assert (pushed["action"], pushed["data"]) == ("done", "m")


async def test_tasks_are_cancelled_and_awaited_on_disconnect() -> None:
    """Every task still running when the client leaves is cancelled before the consumer ends."""
    async with ApiClient(Tasks) as client:
        await client.call(Tasks.start, label="a")
        await client.communicator.send_input({"type": "slow.message", "label": "b"})
        await asyncio.wait_for(Gates.started.wait(), 1)
    assert sorted(Gates.cancelled) == ["a", "b"]


async def test_a_failing_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A task's exception is logged with its traceback; the connection keeps serving."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        async with ApiClient(Tasks) as client:
            await client.communicator.send_input({"type": "failing.message"})
            await asyncio.sleep(0.01)
            assert (await client.call(Tasks.ping)).data == "pong"
    [record] = caplog.records
    assert record.getMessage() == "Detached task of Tasks failed"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "task failed"


@override_settings(TYPED_DCRF={"MAX_DETACHED_ACTIONS": 1})
async def test_tasks_and_detached_actions_share_the_limit() -> None:
    """A running task counts against MAX_DETACHED_ACTIONS: a detached action, or another task,
    beyond it is a 429."""
    async with ApiClient(Tasks) as client:
        await client.call(Tasks.start, label="a")
        await client.send({"action": "background", "request_id": 1})
        await client.send({"action": "start", "label": "b", "request_id": 2})
        refused = [await client.receive() for _ in range(2)]
        assert [(r["request_id"], r["response_status"]) for r in refused] == [(1, 429), (2, 429)]
        assert refused[0]["errors"] == ["Too many tasks running on this connection; retry later."]
        Gates.release.set()


async def test_tasks_are_cancelled_when_the_server_cancels_the_consumer() -> None:
    """A server may cancel a consumer instead of disconnecting it (daphne after its close
    timeout): its tasks are cancelled and awaited then too."""
    inputs: asyncio.Queue[ASGIMessage] = asyncio.Queue()
    outputs: asyncio.Queue[ASGIMessage] = asyncio.Queue()
    consumer = cast("ASGIApp", Tasks.as_asgi())  # channels types it with asgiref's events

    async def serve() -> None:
        await consumer({"type": "websocket", "path": "/ws/"}, inputs.get, outputs.put)

    app = asyncio.create_task(serve())
    await inputs.put({"type": "websocket.connect"})
    assert (await outputs.get())["type"] == "websocket.accept"
    await inputs.put({"type": "websocket.receive", "text": '{"action": "start", "label": "c"}'})
    await outputs.get()
    await asyncio.wait_for(Gates.started.wait(), 1)
    app.cancel()
    await asyncio.gather(app, return_exceptions=True)
    assert Gates.cancelled == ["c"]
