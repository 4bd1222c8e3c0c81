"""Observers: the serializer's return type is the events' ``T``, from the declaration to the
test client's parsed events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_type

from django.dispatch import Signal
from rest_framework.utils.serializer_helpers import ReturnDict

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import (
    AsyncAPIConsumer,
    ModelConsumer,
    ModelObserver,
    ObserveInstanceMixin,
    Response,
    action,
    notify,
    observe,
    observe_signal,
)
from typed_dcrf.observe import BoundObserver, ObservedModel, ObservedSignal
from typed_dcrf.observers import Observer
from typed_dcrf.testing import ApiClient, Event, Subscribed


@dataclass
class ItemOut:
    pk: int
    name: str


def item_out(item: Item) -> ItemOut:
    return ItemOut(item.pk, item.name)


@dataclass
class Shout:
    text: str


shouted = Signal()


def shout(sender: object, text: str, **_: object) -> Shout:
    return Shout(text)


class Watch(AsyncAPIConsumer):
    items = observe(Item, item_out, groups=lambda item: [("owner", item.owner_id or 0)])
    shouts = observe_signal(shouted, shout, action="shout")

    @action
    async def follow(self, owner: int) -> Response[None]:
        assert_type(self.items, BoundObserver[ItemOut])
        await self.items.subscribe("owner", owner)
        return Response.created(None)

    @action
    async def listen(self) -> Response[None]:
        assert_type(self.shouts, BoundObserver[Shout])
        await self.shouts.subscribe()
        return Response.created(None)

    @action
    async def stop(self) -> Response[bool]:
        return Response.ok(await self.items.unsubscribe())


class Items(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    pass


def declarations() -> None:
    assert_type(Watch.items, ObservedModel[Item, ItemOut])
    assert_type(Watch.items.observer, Observer[ItemOut])
    assert_type(Watch.shouts, ObservedSignal[Shout])
    assert_type(Watch.shouts.observer, Observer[Shout])
    assert_type(Items.instance_observer, ModelObserver[Any, ReturnDict[str, Any]])
    notify(Item, [1, 2])
    notify(Item, (1,), action="create", using="other")


async def events() -> None:
    async with ApiClient(Watch) as client:
        following = await client.subscribe(Watch.items.observer, Watch.follow, owner=1)
        assert_type(following, Subscribed[ItemOut])
        event = await following.next()
        assert_type(event, Event[ItemOut])
        assert_type(event.data, ItemOut | None)
        assert_type(event.action, str)
        assert_type(await following.nothing(0.2), bool)
        listening = await client.subscribe(Watch.shouts.observer, Watch.listen)
        assert_type((await listening.next()).data, Shout | None)
    async with ApiClient(Items) as client:
        row = await client.subscribe(Items.instance_observer, Items.subscribe_instance, pk=1)
        assert_type(row, Subscribed[ReturnDict[str, Any]])
