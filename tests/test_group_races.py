"""A connection joining and leaving its subscriptions' groups while it joins them again (every
half group_expiry): a group left meanwhile is not joined again, and one subscribed to again
while it was being left is not left."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db.models import QuerySet
from django.test import override_settings

import typed_dcrf._subscriptions
from tests.app.consumers import LiveTasks, ObservedItems
from tests.app.models import Item, Task
from typed_dcrf import db
from typed_dcrf._events import unsubscribed
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5.0
EXPIRING = {
    "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"group_expiry": 0.1}}
}


@dataclass
class Layer:
    """The test's layer, whose next group_add of ``held`` waits for ``release``; the group_add
    and group_discard calls made since ``hold``."""

    layer: InMemoryChannelLayer
    held: str | None = None
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    again: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at the next group_add of ``held`` after the held one: a round of joins is over."""
    added: list[str] = field(default_factory=list[str])
    discarded: list[str] = field(default_factory=list[str])
    leaving: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the connection starts to leave a group (before it waits to)."""

    def hold(self, group: str) -> None:
        self.held = group

    def members(self, group: str) -> Mapping[str, object]:
        groups: Mapping[str, Mapping[str, object]] = self.layer.groups
        return groups.get(group, {})


@pytest.fixture
async def layer(monkeypatch: pytest.MonkeyPatch) -> AsyncGenerator[Layer]:
    with override_settings(CHANNEL_LAYERS=EXPIRING):
        found = get_channel_layer()
        assert isinstance(found, InMemoryChannelLayer)
        watched = Layer(found)
        join, discard = found.group_add, found.group_discard

        async def group_add(group: str, channel: str) -> None:
            if watched.held == group:
                watched.added.append(group)
                if not watched.holding.is_set():
                    watched.holding.set()
                    await watched.release.wait()
                else:
                    watched.again.set()
            elif watched.held is not None:
                watched.added.append(group)
            await join(group, channel)

        async def group_discard(group: str, channel: str) -> None:
            if watched.held is not None:
                watched.discarded.append(group)
            await discard(group, channel)

        def leaving(layer: object, group: str, channel: str) -> None:
            unsubscribed(layer, group, channel)
            watched.leaving.set()

        monkeypatch.setattr(found, "group_add", group_add)
        monkeypatch.setattr(found, "group_discard", group_discard)
        monkeypatch.setattr(typed_dcrf._subscriptions, "unsubscribed", leaving)
        yield watched


async def test_a_group_left_while_the_groups_are_joined_again_is_not_joined_again(
    layer: Layer,
) -> None:
    """The connection leaves the second group while joining the first again: the round goes on
    without joining the second, whose events no longer reach the connection."""
    first, second = [await db.run(Item.objects.create, name=n, slug=n) for n in ("a", "b")]
    groups = [
        ObservedItems.instance_observer.instance_group(i.pk, "default") for i in (first, second)
    ]
    async with ApiClient(ObservedItems) as client:
        for item in (first, second):
            await client.send(
                {"action": "subscribe_instance", "pk": item.pk, "request_id": item.pk}
            )
            assert (await client.receive())["response_status"] == 201
        [channel] = layer.members(groups[1])
        layer.hold(groups[0])
        await asyncio.wait_for(layer.holding.wait(), TIMEOUT)
        await client.send(
            {"action": "unsubscribe_instance", "pk": second.pk, "request_id": second.pk}
        )
        await asyncio.wait_for(layer.leaving.wait(), TIMEOUT)
        layer.release.set()
        assert (await client.receive())["response_status"] == 204
        await asyncio.wait_for(layer.again.wait(), TIMEOUT)
        assert groups[1] not in layer.added
        assert channel not in layer.members(groups[1])
        second.name = "after the unsubscribe"
        await db.run(second.save)
        assert await client.receive_nothing()


class Kept(LiveTasks):
    """Keeps its instances, to see its subscriptions' groups."""

    instances: ClassVar[list[Kept]] = []
    querysets: ClassVar[int] = 0
    """How many subscribe_list have made their queryset (then they subscribe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Kept.instances.append(self)

    def _live_queryset(self) -> tuple[QuerySet[Task], str]:
        found = super()._live_queryset()
        Kept.querysets += 1
        return found


async def until(condition: Callable[[], bool]) -> None:
    # Polled: nothing tells when a detached action has reached a point of its own.
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def test_a_group_subscribed_to_again_while_it_is_left_is_not_left(layer: Layer) -> None:
    """A list subscription is replaced (subscribed to again with its request_id) while another
    subscribe_list of the same set is joining its group: the group is never left, and both
    subscriptions hear of changes."""
    task = await db.run(Task.objects.create, title="0")
    Kept.instances = []
    async with ApiClient(Kept) as client:
        live = await client.subscribe_list(Kept.list_observer, Kept.subscribe_list)
        [consumer] = Kept.instances
        [listed] = consumer.subscriptions.by_group
        await client.send({"action": "subscribe_instance", "pk": task.pk, "request_id": "one"})
        assert (await client.receive())["response_status"] == 201
        [instance] = [group for group in consumer.subscriptions.by_group if group != listed]
        layer.hold(instance)
        await asyncio.wait_for(layer.holding.wait(), TIMEOUT)
        # Both detached: the first ends the subscription of its request_id (the group's last),
        # and waits to leave the group; the second then joins it again.
        await client.send({"action": "subscribe_list", "request_id": live.request_id})
        await asyncio.wait_for(layer.leaving.wait(), TIMEOUT)
        await client.send({"action": "subscribe_list", "request_id": "another"})
        await asyncio.wait_for(until(lambda: listed in consumer.subscriptions.by_group), TIMEOUT)
        layer.release.set()
        replies: set[str] = set()
        while len(replies) < 2:
            frame = await client.receive()
            if frame["response_status"] == 201:
                replies.add(str(frame["request_id"]))
        assert replies == {str(live.request_id), "another"}
        assert layer.discarded == []
        task.title = "1"
        await db.run(task.save)
        heard: set[str] = set()
        while len(heard) < 3:
            heard.add(str((await client.receive())["request_id"]))
        assert heard == {str(live.request_id), "another", "one"}


async def test_a_subscription_waits_for_its_groups_join_and_makes_its_own_if_that_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second subscribe_list of a set whose group the first is still joining waits for that
    join (it hears nothing until it is made); when it fails, the first is refused and the
    second joins the group itself: answered, it hears of changes."""
    layer = get_channel_layer()
    assert layer is not None
    join = layer.group_add
    reached, release = asyncio.Event(), asyncio.Event()
    joins = 0

    async def first_fails(group: str, channel: str) -> None:
        nonlocal joins
        joins += 1
        if joins == 1:
            reached.set()
            await release.wait()
            raise ConnectionError("the layer is down")
        await join(group, channel)

    monkeypatch.setattr(layer, "group_add", first_fails)
    Kept.instances, Kept.querysets = [], 0
    async with ApiClient(Kept) as client:
        await client.send({"action": "subscribe_list", "request_id": "first"})
        await asyncio.wait_for(reached.wait(), TIMEOUT)
        await client.send({"action": "subscribe_list", "request_id": "second"})
        await asyncio.wait_for(until(lambda: Kept.querysets == 2), TIMEOUT)
        for _ in range(20):  # the second goes on to subscribe: it waits for the join there
            await asyncio.sleep(0)
        release.set()
        statuses: dict[str, int] = {}
        while "first" not in statuses or statuses.get("second") != 201:
            frame = await client.receive()
            statuses[str(frame["request_id"])] = int(str(frame["response_status"]))
        assert statuses == {"first": 500, "second": 201}
        task = await db.run(Task.objects.create, title="after")
        event = await client.receive()
        assert (event["request_id"], event["action"]) == ("second", "create")
        assert cast("JSONObject", event["data"])["id"] == task.pk
        assert await client.receive_nothing()
