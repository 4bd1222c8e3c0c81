"""A connection whose events the in-memory layer loses (its channel is full, or the layer forgot
it after a message expired): channels does so silently, so typed_dcrf sends member by member
and closes that connection with 4429 (its subscriptions could no longer be trusted); the other
connections get every event."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, cast

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.test import override_settings

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import ModelConsumer, ObserveInstanceMixin, Response, _events, action, db
from typed_dcrf._events import local_state
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject

pytestmark = pytest.mark.django_db(transaction=True)

SMALL_LAYER = {
    "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 2}}
}


class Busy(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    """``hold`` keeps the connection busy (it reads nothing from its channel meanwhile) until
    ``Busy.release`` is set."""

    release = asyncio.Event()

    @action()
    async def hold(self) -> Response[None]:
        await Busy.release.wait()
        return Response.ok(None)


def kept() -> tuple[dict[str, Any], dict[str, set[str]]]:
    """What is kept for the subscriptions on the layer: drop callbacks, channels by group."""
    state = local_state(get_channel_layer())
    assert state is not None
    return state.on_event_lost, state.subscribed_channels


async def subscribe(client: ApiClient, item: Item) -> None:
    await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": item.pk})
    assert (await client.receive())["response_status"] == 201


async def rename(item: Item, name: str) -> None:
    item.name = name
    await db.run(item.save)


@override_settings(CHANNEL_LAYERS=SMALL_LAYER)
async def test_a_connection_whose_channel_is_full_is_closed_with_4429(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Four changes while a connection reads nothing, its channel holding two (and channels'
    receive holding one more): the fourth is dropped by the layer, and the connection is closed
    (logged); a connection that reads gets all four."""
    Busy.release = asyncio.Event()
    item = await db.run(Item.objects.create, name="0", slug="milk")
    with caplog.at_level(logging.WARNING, logger="typed_dcrf"):
        async with ApiClient(Busy) as busy, ApiClient(Busy) as reading:
            await subscribe(busy, item)
            await subscribe(reading, item)
            await busy.send({"action": "hold", "request_id": "hold"})
            names: list[Any] = []
            for number in range(1, 5):
                await rename(item, str(number))
                names.append(cast("JSONObject", (await reading.receive())["data"])["name"])
            closed = await busy.communicator.receive_output(1)
            Busy.release.set()
            # The reply on its way is not sent on the closed connection (uvicorn would raise).
            assert await busy.communicator.receive_nothing(0.5)
    assert closed == {"type": "websocket.close", "code": 4429}
    assert names == ["1", "2", "3", "4"]
    [record] = [r for r in caplog.records if "dropped an event" in r.getMessage()]
    assert "raise the layer's capacity" in record.getMessage()
    assert kept() == ({}, {})  # every connection that closed is forgotten


EXPIRING_LAYER = {
    "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"expiry": -1}}
}


@override_settings(CHANNEL_LAYERS=EXPIRING_LAYER)
async def test_a_connection_the_layer_forgot_is_closed_with_4429(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A message that waits on a channel past the layer's expiry (here at once) makes channels
    remove that channel from every group, silently: the next event of its groups closes it.
    The connection that reads is not affected."""
    Busy.release = asyncio.Event()
    item = await db.run(Item.objects.create, name="0", slug="milk")
    with caplog.at_level(logging.WARNING, logger="typed_dcrf"):
        async with ApiClient(Busy) as busy, ApiClient(Busy) as reading:
            await subscribe(busy, item)
            await subscribe(reading, item)
            await busy.send({"action": "hold", "request_id": "hold"})
            names: list[Any] = []
            # The first event is taken by busy's waiting receive, the second waits and expires
            # when the reading connection next receives; the third finds busy forgotten.
            for number in range(1, 4):
                await rename(item, str(number))
                names.append(cast("JSONObject", (await reading.receive())["data"])["name"])
            closed = await busy.communicator.receive_output(1)
            Busy.release.set()
    assert closed == {"type": "websocket.close", "code": 4429}
    assert names == ["1", "2", "3"]
    assert [r for r in caplog.records if "dropped an event" in r.getMessage()]
    assert kept() == ({}, {})


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
async def test_a_connection_the_layer_forgot_is_closed_at_its_next_waiting_event() -> None:
    """The layer forgets a channel (here told to, as an expired message makes it) while events
    wait on it, and no change comes after: the first waiting event closes it with 4429."""
    Busy.release = asyncio.Event()
    item = await db.run(Item.objects.create, name="0", slug="milk")
    layer = cast("InMemoryChannelLayer", get_channel_layer())
    async with ApiClient(Busy) as busy:
        await subscribe(busy, item)
        await busy.send({"action": "hold", "request_id": "hold"})
        await rename(item, "taken by its waiting receive")
        await rename(item, "waiting")
        [(group, [channel])] = [(g, list(c)) for g, c in kept()[1].items()]
        await layer.group_discard(group, channel)
        Busy.release.set()
        assert (await busy.receive())["request_id"] == "hold"
        closed = await busy.communicator.receive_output(1)
    assert closed == {"type": "websocket.close", "code": 4429}


class Remembered(Busy):
    """``Busy``, each connection kept in ``made`` as it connects."""

    made: ClassVar[list[Remembered]] = []

    async def connect(self) -> None:
        Remembered.made.append(self)
        await super().connect()


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
async def test_another_in_memory_layer_closes_no_connection_of_this_one() -> None:
    """An event sent on a second in-memory layer (another alias, other settings) to a group a
    connection of the first layer is in: the connection is not taken for one its layer forgot,
    and gets the next event of its own layer."""
    item = await db.run(Item.objects.create, name="0", slug="milk")
    async with ApiClient(Busy) as client:
        await subscribe(client, item)
        [group] = kept()[1]
        other = InMemoryChannelLayer()
        await _events._group_send_in_memory(other, group, {"type": "typed_dcrf.event"})  # pyright: ignore[reportPrivateUsage]
        await rename(item, "still subscribed")
        event = await client.receive()
    assert cast("JSONObject", event["data"])["name"] == "still subscribed"


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
async def test_a_drop_told_after_the_connection_ended_sends_nothing() -> None:
    """The layer tells of a lost event (the callback was on its way) after the client left:
    nothing is closed or sent on the connection that ended."""
    item = await db.run(Item.objects.create, name="0", slug="milk")
    Remembered.made = []
    async with ApiClient(Remembered) as client:
        await subscribe(client, item)
        [consumer] = Remembered.made
        subscriptions = consumer.subscriptions
    subscriptions._dropped()  # pyright: ignore[reportPrivateUsage]
    closing = subscriptions._closing  # pyright: ignore[reportPrivateUsage]
    if closing is not None:
        await closing
    queue = client.communicator._inner.output_queue  # pyright: ignore[reportPrivateUsage]
    assert queue.empty()
