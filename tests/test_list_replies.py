"""What reaches a list subscription's client while its reply is on its way: the changes that
came meanwhile follow the reply, the latest state of each row, unless the subscription ended
meanwhile or the client holds too many frames already."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar, cast

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

from tests.app.consumers import LiveTasks
from tests.app.models import Task
from typed_dcrf import db
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject, JSONValue

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5.0


class HeldReply(LiveTasks):
    """Holds the reply of subscribe_list while ``reply_gate`` is shut and its event frames
    while ``event_gate`` is (as a server does for a client that does not read); hands every
    event the connection receives to ``received``."""

    reply_gate: ClassVar[asyncio.Event]
    replying: ClassVar[asyncio.Event]
    event_gate: ClassVar[asyncio.Event]
    received: ClassVar[asyncio.Queue[dict[str, Any]]]

    async def send_envelope(self, text: str) -> None:
        frame = json.loads(text)
        if frame["action"] == "subscribe_list" and frame["response_status"] == 201:
            HeldReply.replying.set()
            await HeldReply.reply_gate.wait()
        elif frame["action"] in ("create", "update", "delete"):
            await HeldReply.event_gate.wait()
        await super().send_envelope(text)

    async def typed_dcrf_event(self, message: dict[str, Any]) -> None:
        await super().typed_dcrf_event(message)
        await HeldReply.received.put(message)


@pytest.fixture(autouse=True)
def gates() -> None:
    HeldReply.reply_gate, HeldReply.replying = asyncio.Event(), asyncio.Event()
    HeldReply.event_gate = asyncio.Event()
    HeldReply.event_gate.set()
    HeldReply.received = asyncio.Queue()


async def rename(task: Task, title: str) -> dict[str, Any]:
    """Save ``task`` with ``title``; the event the connection received of it."""
    task.title = title
    await db.run(task.save)
    return await asyncio.wait_for(HeldReply.received.get(), TIMEOUT)


async def reply_held(client: ApiClient, **arguments: JSONValue) -> None:
    """Subscribe to every task as ``list``: its snapshot's page arrives (none for a resume),
    its 201 reply is held."""
    await client.send({"action": "subscribe_list", "request_id": "list", **arguments})
    if "since" not in arguments:
        assert (await client.receive())["response_status"] == 206
    await asyncio.wait_for(HeldReply.replying.wait(), TIMEOUT)


async def frames(client: ApiClient, count: int) -> list[JSONObject]:
    return [await client.receive() for _ in range(count)]


async def test_an_older_change_arriving_late_replaces_no_newer_one() -> None:
    """While the reply waits, a row changes twice, then the first change's event arrives
    again, late (as one sent by another process may): the client gets the latest state."""
    task = await db.run(Task.objects.create, title="0")
    layer = get_channel_layer()
    assert layer is not None
    async with ApiClient(HeldReply) as client:
        await reply_held(client)
        older = await rename(task, "1")
        await rename(task, "2")
        await layer.group_send(str(older["group"]), older)
        assert await asyncio.wait_for(HeldReply.received.get(), TIMEOUT) == older
        HeldReply.reply_gate.set()
        reply, event = await frames(client, 2)
        assert reply["response_status"] == 201
        assert (event["action"], cast("JSONObject", event["data"])["title"]) == ("update", "2")
        assert await client.receive_nothing()


async def test_a_list_subscription_ended_while_its_reply_goes_out_gets_no_event() -> None:
    """Unsubscribed while its reply was on its way: the changes that waited for the reply are
    not sent after it."""
    task = await db.run(Task.objects.create, title="0")
    async with ApiClient(HeldReply) as client:
        await reply_held(client)
        await rename(task, "while the reply waits")
        await client.send({"action": "unsubscribe_list", "request_id": "list"})
        assert (await client.receive())["response_status"] == 204
        HeldReply.reply_gate.set()
        assert (await client.receive())["response_status"] == 201
        assert await client.receive_nothing()


async def test_a_resume_ended_while_its_reply_goes_out_sends_nothing_missed() -> None:
    """Unsubscribed while a resume's reply was on its way: the changes it missed, which would
    follow the reply, are not sent."""
    task = await db.run(Task.objects.create, title="0")
    HeldReply.reply_gate.set()
    async with ApiClient(HeldReply) as client:
        live = await client.subscribe_list(
            HeldReply.list_observer, HeldReply.subscribe_list, seq=True
        )
    task.title = "missed"
    await db.run(task.save)
    HeldReply.reply_gate.clear()
    HeldReply.replying.clear()
    async with ApiClient(HeldReply) as client:
        await reply_held(client, seq=True, since=live.seq)
        await client.send({"action": "unsubscribe_list", "request_id": "list"})
        assert (await client.receive())["response_status"] == 204
        HeldReply.reply_gate.set()
        reply = await client.receive()
        assert (reply["response_status"], cast("JSONObject", reply["data"])["resumed"]) == (
            201,
            True,
        )
        assert await client.receive_nothing()


@override_settings(TYPED_DCRF={"MAX_OUTGOING_EVENTS": 2})
async def test_changes_after_the_reply_past_the_bound_close_with_4429() -> None:
    """The client reads none of its events: MAX_OUTGOING_EVENTS of its instance subscriptions
    wait when the list's reply has gone out, so the change that waited for that reply closes
    it with 4429."""
    first, second, listed = [
        await db.run(Task.objects.create, title=title) for title in ("a", "b", "c")
    ]
    async with ApiClient(HeldReply) as client:
        for task in (first, second):
            await client.send(
                {"action": "subscribe_instance", "request_id": task.pk, "pk": task.pk}
            )
            assert (await client.receive())["response_status"] == 201
        HeldReply.event_gate.clear()
        await rename(first, "on its way")
        await rename(second, "waiting")
        await rename(first, "waiting too")
        await reply_held(client)
        await rename(listed, "waits for the reply")
        HeldReply.reply_gate.set()
        assert (await client.receive())["response_status"] == 201
        closed = await client.communicator.receive_output(TIMEOUT)
        HeldReply.event_gate.set()
    assert closed == {"type": "websocket.close", "code": 4429}
