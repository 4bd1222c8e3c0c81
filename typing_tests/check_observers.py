"""Observers: the serializer's return type is the events' ``T``, from the declaration to the
test client's parsed events and a list subscription's rows (the consumers of
``examples/live.py``)."""

from __future__ import annotations

from typing import Any, assert_type

from rest_framework.utils.serializer_helpers import ReturnDict

from examples.live import Announcement, Dashboard, ItemList, ItemOut, LiveItems
from tests.app.models import Item
from typed_dcrf import ListSubscribed, ModelObserver, notify
from typed_dcrf.observers import Observer
from typed_dcrf.observing import BoundObserver, ObservedModel, ObservedSignal
from typed_dcrf.testing import ApiClient, Event, LiveList, Subscribed
from typed_dcrf.types import JSONValue


def declarations(dashboard: Dashboard) -> None:
    assert_type(Dashboard.items, ObservedModel[Item, ItemOut])
    assert_type(Dashboard.items.observer, Observer[ItemOut])
    assert_type(Dashboard.news, ObservedSignal[Announcement])
    assert_type(Dashboard.news.observer, Observer[Announcement])
    assert_type(dashboard.items, BoundObserver[ItemOut])
    assert_type(dashboard.news, BoundObserver[Announcement])
    assert_type(LiveItems.instance_observer, ModelObserver[Any, ReturnDict[str, Any]])
    notify(Item, [1, 2])
    notify(Item, (1,), action="create", using="other")


async def bound(dashboard: Dashboard) -> None:
    assert_type(await dashboard.items.subscribe("owner", 1), None)
    assert_type(await dashboard.items.unsubscribe(), bool)


async def events() -> None:
    async with ApiClient(Dashboard) as client:
        mine = await client.subscribe(Dashboard.items.observer, Dashboard.follow_mine)
        assert_type(mine, Subscribed[ItemOut])
        event = await mine.next()
        assert_type(event, Event[ItemOut])
        assert_type(event.data, ItemOut | None)
        assert_type(event.action, str)
        assert_type(await mine.nothing(0.2), bool)
        news = await client.subscribe(Dashboard.news.observer, Dashboard.follow_news)
        assert_type((await news.next()).data, Announcement | None)
    async with ApiClient(LiveItems) as client:
        row = await client.subscribe(
            LiveItems.instance_observer, LiveItems.subscribe_instance, pk=1
        )
        assert_type(row, Subscribed[ReturnDict[str, Any]])


async def lists() -> None:
    assert_type(ItemList.list_observer, ModelObserver[Any, ReturnDict[str, Any]])
    async with ApiClient(ItemList) as client:
        todo = await client.subscribe_list(
            ItemList.list_observer, ItemList.subscribe_list, done=False, seq=True
        )
        assert_type(todo, LiveList[ReturnDict[str, Any]])
        assert_type(todo.rows, dict[JSONValue, ReturnDict[str, Any]])
        assert_type(todo.reply, ListSubscribed)
        assert_type(todo.reply.seq, int)
        assert_type(todo.seq, int)
        event = await todo.next()
        assert_type(event, Event[ReturnDict[str, Any]])
        assert_type(event.seq, int | None)
        assert_type(await todo.settle(), list[Event[ReturnDict[str, Any]]])
        assert_type(await todo.unsubscribe(), None)
