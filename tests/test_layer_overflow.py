"""A connection whose events the in-memory layer loses (its channel is full, or the layer forgot
it after a message expired): channels does so silently, so typed_dcrf sends member by member
and closes that connection with 4429 (its subscriptions could no longer be trusted); the other
connections get every event."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.test import override_settings

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import ModelConsumer, ObserveInstanceMixin, Response, action, db
from typed_dcrf._events import joined, overflowed
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
    assert not overflowed  # every connection that closed is forgotten
    assert not joined


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
    assert not overflowed
    assert not joined


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
        [group] = joined
        [channel] = joined[group]
        await layer.group_discard(group, channel)
        Busy.release.set()
        assert (await busy.receive())["request_id"] == "hold"
        closed = await busy.communicator.receive_output(1)
    assert closed == {"type": "websocket.close", "code": 4429}
