"""A client that does not read its events: the latest state per subscription and row waits for
it, at most MAX_OUTGOING_EVENTS of them, then it is closed with 4429."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import pytest
from django.dispatch import Signal
from django.test import override_settings

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import (
    AsyncAPIConsumer,
    ModelConsumer,
    ObserveInstanceMixin,
    Response,
    action,
    db,
    observe_signal,
)
from typed_dcrf._outbox import Outbox, buffered_bytes
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject

pytestmark = pytest.mark.django_db(transaction=True)


class Gate:
    """Holds every event frame sent while it is shut (as a server does for a client that does
    not read); new one for every test."""

    open = asyncio.Event()


@pytest.fixture(autouse=True)
def fresh_gate() -> None:
    Gate.open = asyncio.Event()
    Gate.open.set()


class Held(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    async def send_envelope(self, text: str) -> None:
        if '"action":"update"' in text:
            await Gate.open.wait()
        await super().send_envelope(text)


async def subscribe(client: ApiClient, item: Item) -> None:
    await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": item.pk})
    assert (await client.receive())["response_status"] == 201


async def rename(item: Item, name: str) -> None:
    item.name = name
    await db.run(item.save)


@override_settings(TYPED_DCRF={"MAX_OUTGOING_EVENTS": 2})
async def test_a_slow_client_gets_the_latest_state_of_its_row() -> None:
    """Five changes while the client's frames are held: it then gets the one on its way and
    the latest, nothing in between, and stays connected."""
    item = await db.run(Item.objects.create, name="0", slug="milk")
    async with ApiClient(Held) as client:
        await subscribe(client, item)
        Gate.open.clear()
        for number in range(1, 6):
            await rename(item, str(number))
        await asyncio.sleep(0.2)  # every event has reached the connection
        Gate.open.set()
        names = [cast("JSONObject", (await client.receive())["data"])["name"] for _ in range(2)]
        assert await client.receive_nothing()
    assert names == ["1", "5"]


@override_settings(TYPED_DCRF={"MAX_OUTGOING_EVENTS": 2})
async def test_more_rows_waiting_than_allowed_close_the_connection_with_4429(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Changes of more rows than MAX_OUTGOING_EVENTS waiting for the client: it is closed
    with 4429 (logged), and what waited is dropped."""
    items = [await db.run(Item.objects.create, name="0", slug=f"i{n}") for n in range(4)]
    with caplog.at_level(logging.WARNING, logger="typed_dcrf"):
        async with ApiClient(Held) as client:
            for item in items:
                await subscribe(client, item)
            Gate.open.clear()
            for item in items:
                await rename(item, "changed")
            closed = await client.communicator.receive_output(1)
            Gate.open.set()
    assert closed == {"type": "websocket.close", "code": 4429}
    [record] = caplog.records
    assert "2 events wait for it (MAX_OUTGOING_EVENTS)" in record.getMessage()


async def test_unsubscribing_drops_the_events_waiting_for_it() -> None:
    """The event on its way still arrives; the one waiting behind it does not, once its
    subscription has ended."""
    item = await db.run(Item.objects.create, name="0", slug="milk")
    async with ApiClient(Held) as client:
        await subscribe(client, item)
        Gate.open.clear()
        await rename(item, "on its way")
        await rename(item, "waiting")
        await asyncio.sleep(0.2)  # both events have reached the connection
        await client.send({"action": "unsubscribe_instance", "pk": item.pk, "request_id": item.pk})
        assert (await client.receive())["response_status"] == 204
        Gate.open.set()
        arrived = await client.receive()
        assert cast("JSONObject", arrived["data"])["name"] == "on its way"
        assert await client.receive_nothing()


shouted = Signal()


def shout(sender: object, text: str, **_: object) -> str:
    return text


class HeldShouts(AsyncAPIConsumer):
    shouts = observe_signal(shouted, shout)

    @action()
    async def listen(self) -> Response[None]:
        await self.shouts.subscribe()
        return Response.created(None)

    async def send_envelope(self, text: str) -> None:
        if '"action":"shouts"' in text:
            await Gate.open.wait()
        await super().send_envelope(text)


async def test_a_slow_client_gets_every_sending_of_a_signal() -> None:
    """A signal's events are not states of a row: none replaces another."""
    async with ApiClient(HeldShouts) as client:
        await client.send({"action": "listen", "request_id": "l"})
        assert (await client.receive())["response_status"] == 201
        Gate.open.clear()
        for text in ("a", "b", "c"):
            # django-stubs leave Signal.send partly unknown to pyright.
            await db.run(shouted.send, sender=None, text=text)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        await asyncio.sleep(0.2)
        Gate.open.set()
        texts = [(await client.receive())["data"] for _ in range(3)]
    assert texts == ["a", "b", "c"]


class Transport:
    """What asyncio's transports (and uvloop's) tell of their write buffer."""

    def __init__(self) -> None:
        self.size = 0

    def get_write_buffer_size(self) -> int:
        return self.size


class ServerProtocol:
    """A server whose ``send`` is a method of a protocol holding a transport, as uvicorn's."""

    def __init__(self) -> None:
        self.transport = Transport()

    async def send(self, message: object) -> None:
        pass


async def test_events_wait_while_the_servers_buffer_is_over_the_high_water_mark() -> None:
    """The outbox sends one frame, then waits until the server's buffer is back under the
    mark before it sends the next."""
    server = ServerProtocol()
    buffered = buffered_bytes(server.send)
    assert buffered is not None
    assert buffered_bytes(object()) is None  # daphne's send: nothing to see
    sent: list[str] = []

    async def send(frame: str) -> None:
        sent.append(frame)
        server.transport.size = 2_000

    outbox = Outbox(send, buffered, high_water=1_000)
    assert outbox.put("a", "first", capacity=10)
    assert outbox.put("b", "second", capacity=10)
    await asyncio.sleep(0.1)
    assert sent == ["first"]
    server.transport.size = 0
    await asyncio.sleep(0.1)
    assert sent == ["first", "second"]
    await outbox.close()
