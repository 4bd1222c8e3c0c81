"""What goes wrong on the event path stays there: a serializer that raises, a layer that fails
to send or to join groups, no layer at all. The save stands, the error is logged, and the
connection goes on."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.db import connection
from django.dispatch import Signal
from django.test import override_settings

from tests.app.consumers import ObservedItems
from tests.app.models import Item, Note
from tests.queries import database_thread_queries
from typed_dcrf import AsyncAPIConsumer, Response, action, db, notify, observe, observe_signal
from typed_dcrf.testing import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)


def broken(item: Item) -> str:
    raise RuntimeError("the serializer failed")


pinged = Signal()


def ping(sender: object, **_: object) -> str:
    return "ping"


def broken_ping(sender: object, **_: object) -> str:
    raise RuntimeError("the serializer failed")


def name(item: Item) -> str:
    return item.name


def no_groups(item: Item) -> list[tuple[str | int, ...]]:
    return []


class Fragile(AsyncAPIConsumer):
    items = observe(Item, broken)
    nowhere = observe(Item, name, groups=no_groups)
    pings = observe_signal(pinged, ping)
    broken_pings = observe_signal(pinged, broken_ping)

    @action()
    async def follow(self) -> Response[None]:
        await self.items.subscribe()
        return Response.created(None)

    @action()
    async def follow_nowhere(self) -> Response[None]:
        await self.nowhere.subscribe()
        return Response.created(None)

    @action()
    async def listen(self) -> Response[None]:
        await self.pings.subscribe()
        return Response.created(None)


@pytest.fixture
async def item() -> Item:
    return await db.run(Item.objects.create, name="milk", slug="milk")


async def test_a_serializer_that_raises_is_logged_and_the_save_stands(
    item: Item, caplog: pytest.LogCaptureFixture
) -> None:
    async with ApiClient(Fragile) as client:
        subscription = await client.subscribe(Fragile.items.observer, Fragile.follow)
        item.name = "saved all the same"
        await db.run(item.save)
        assert await subscription.nothing()
    assert "Publishing a change of" in caplog.text
    assert (await db.run(Item.objects.get, pk=item.pk)).name == "saved all the same"


async def test_a_signal_serializer_that_raises_is_logged_not_raised_to_the_sender(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The code that sent the signal goes on; the signal's other observers send."""
    async with ApiClient(Fragile) as client:
        listening = await client.subscribe(Fragile.pings.observer, Fragile.listen)
        await db.run(pinged.send, sender=None)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        assert (await listening.next()).data == "ping"
    assert "Serializing a sending of" in caplog.text


async def test_a_groups_hook_that_names_no_group_sends_nothing(item: Item) -> None:
    async with ApiClient(Fragile) as client:
        subscription = await client.subscribe(Fragile.nowhere.observer, Fragile.follow_nowhere)
        await db.run(item.save)
        assert await subscription.nothing()


@pytest.mark.parametrize("where", ["database thread", "loop's thread"])
async def test_a_layer_that_fails_to_send_is_logged(
    item: Item, where: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the database thread (sent on the caller's loop) and from a thread whose loop runs
    (a task of it): the failure is logged, the save stands."""
    async with ApiClient(ObservedItems) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )

        async def down(group: str, message: dict[str, Any]) -> None:
            raise ConnectionError("the layer is down")

        layer = get_channel_layer()
        monkeypatch.setattr(layer, "group_send", down)
        monkeypatch.setattr(layer, "send", down)  # the in-memory layer's events go member by member
        item.name = "unsent"
        if where == "database thread":
            await db.run(item.save)
        else:
            monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            item.save()
            connection.close()  # the one that save opened on this thread
        assert await subscription.nothing()
    assert "Sending an event failed" in caplog.text


@override_settings(CHANNEL_LAYERS={})
async def test_without_a_channel_layer_saves_stand_and_subscribing_is_a_500(
    item: Item, caplog: pytest.LogCaptureFixture
) -> None:
    async with ApiClient(ObservedItems) as client:
        await db.run(item.save)
        await db.run(pinged.send, sender=None)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 1})
        reply = await client.receive()
    assert (reply["response_status"], reply["errors"]) == (500, ["A server error occurred."])
    assert "set CHANNEL_LAYERS" in caplog.text


@override_settings(
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 0.1},
        }
    }
)
async def test_joining_groups_again_goes_on_when_the_layer_fails(
    item: Item, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every half group_expiry the subscriptions join their groups again: a failure is
    logged, the next attempt made, and events still arrive."""
    layer = get_channel_layer()
    assert layer is not None
    join = layer.group_add
    failures = 0
    recovered = asyncio.Event()

    async def flaky(group: str, channel: str) -> None:
        nonlocal failures
        failures += 1
        if failures <= 2:
            raise ConnectionError("the layer is down")
        await join(group, channel)
        recovered.set()

    async with ApiClient(ObservedItems) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        monkeypatch.setattr(layer, "group_add", flaky)
        with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
            await asyncio.wait_for(recovered.wait(), 5)
        item.name = "after the failures"
        await db.run(item.save)
        event = await subscription.next()
    assert "Joining a subscription's group" in caplog.text
    assert event.data is not None
    assert event.data["name"] == "after the failures"


@override_settings(
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 0.1},
        }
    }
)
async def test_a_group_that_cannot_be_joined_again_holds_back_no_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Joining the first subscription's group again fails every time: the second's group is
    still joined again, each time."""
    first, second = [await db.run(Item.objects.create, name=n, slug=n) for n in ("a", "b")]
    layer = get_channel_layer()
    assert layer is not None
    join = layer.group_add
    failing = ObservedItems.instance_observer.instance_group(first.pk, "default")
    other = ObservedItems.instance_observer.instance_group(second.pk, "default")
    failed = False
    rejoined = asyncio.Event()

    async def flaky(group: str, channel: str) -> None:
        nonlocal failed
        if group == failing:
            failed = True
            raise ConnectionError("this group's server is down")
        await join(group, channel)
        if group == other and failed:
            rejoined.set()

    async with ApiClient(ObservedItems) as client:
        for item in (first, second):
            await client.subscribe(
                ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
            )
        monkeypatch.setattr(layer, "group_add", flaky)
        await asyncio.wait_for(rejoined.wait(), 5)


async def test_an_event_for_a_group_the_connection_left_is_dropped(item: Item) -> None:
    """An event already on its way when its subscription ended reaches nobody."""
    async with ApiClient(ObservedItems) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        group = ObservedItems.instance_observer.instance_group(item.pk, "default")
        await client.send(
            {"action": "unsubscribe_instance", "pk": item.pk, "request_id": subscription.request_id}
        )
        ended = await client.reply_to(subscription.request_id, action="unsubscribe_instance")
        assert ended["response_status"] == 204
        event = {"type": "typed_dcrf.event", "group": group, "action": "update", "data": "{}"}
        await client.communicator.send_input({**event, "pk": item.pk, "facts": {}})
        assert await client.receive_nothing()


async def test_notify_of_a_model_nobody_observes_does_nothing() -> None:
    async with database_thread_queries() as statements:
        await db.run(notify, Note, [1, 2])
    assert statements == []


async def test_a_subscription_whose_group_could_not_be_joined_can_be_made_again(
    item: Item, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Joining the group fails (twice: the layer is down): the subscribe is refused, nothing of
    it is kept, and once the layer is back a new subscribe joins the group and hears events."""
    layer = get_channel_layer()
    assert layer is not None
    join = layer.group_add
    down = True

    async def flaky(group: str, channel: str) -> None:
        if down:
            raise ConnectionError("the layer is down")
        await join(group, channel)

    monkeypatch.setattr(layer, "group_add", flaky)
    async with ApiClient(ObservedItems) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 1})
        refused = await client.receive()
        assert (refused["response_status"], refused["errors"]) == (
            500,
            ["A server error occurred."],
        )
        down = False
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        item.name = "after the layer came back"
        await db.run(item.save)
        event = await subscription.next()
    assert event.data is not None
    assert event.data["name"] == "after the layer came back"


async def test_a_group_that_cannot_be_left_is_logged_and_unsubscribing_ends_the_events(
    item: Item, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Leaving the group fails (the layer is down; its membership expires): the unsubscribe is
    answered, the failure logged, and no event reaches the client after it."""
    layer = get_channel_layer()
    assert layer is not None

    async def down(group: str, channel: str) -> None:
        raise ConnectionError("the layer is down")

    async with ApiClient(ObservedItems) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 1})
        assert (await client.receive())["response_status"] == 201
        monkeypatch.setattr(layer, "group_discard", down)
        await client.send({"action": "unsubscribe_instance", "pk": item.pk, "request_id": 1})
        assert (await client.receive())["response_status"] == 204
        item.name = "after the unsubscribe"
        await db.run(item.save)
        assert await client.receive_nothing()
    group = ObservedItems.instance_observer.instance_group(item.pk, "default")
    assert f"Leaving the group {group!r} failed" in caplog.text


async def test_a_group_that_cannot_be_joined_ends_no_other_subscription(
    item: Item, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second subscription's group cannot be joined: it is refused, and the first one
    still hears of its row's changes."""
    other = await db.run(Item.objects.create, name="bread", slug="bread")
    layer = get_channel_layer()
    assert layer is not None
    join = layer.group_add
    failing = ObservedItems.instance_observer.instance_group(other.pk, "default")

    async def flaky(group: str, channel: str) -> None:
        if group == failing:
            raise ConnectionError("this group's server is down")
        await join(group, channel)

    monkeypatch.setattr(layer, "group_add", flaky)
    async with ApiClient(ObservedItems) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        await client.send({"action": "subscribe_instance", "pk": other.pk, "request_id": 2})
        assert (await client.receive())["response_status"] == 500
        item.name = "after the refusal"
        await db.run(item.save)
        event = await subscription.next()
    assert event.data is not None
    assert event.data["name"] == "after the refusal"
