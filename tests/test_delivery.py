"""Delivering events: serialized once and sent without a query or a database trip per
subscriber, and checked for each subscriber in memory, from the event's facts; a subscriber
who loses access gets one 403 and nothing more."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import cast

import pytest
from django.contrib.auth.models import User
from django.db.models import QuerySet
from rest_framework import permissions as drf
from rest_framework.request import Request
from rest_framework.views import APIView

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from tests.frames import envelope
from tests.queries import database_thread_queries
from tests.test_mixins import keywords
from typed_dcrf import (
    ActionContext,
    AsyncAPIConsumer,
    BasePermission,
    ModelConsumer,
    ObserveInstanceMixin,
    Response,
    action,
    db,
    observe,
)
from typed_dcrf.instances import InstanceData
from typed_dcrf.permissions import PermissionSpec
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject, JSONValue

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class ItemOut:
    pk: int
    name: str


def item_out(item: Item) -> ItemOut:
    return ItemOut(item.pk, item.name)


class OwnerOnly(BasePermission):
    """In memory: the row's owner_id, one of the event's facts."""

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        return obj.owner_id == context.user.pk


class DRFOwnerOnly(drf.BasePermission):
    """The same rule as a DRF permission class."""

    def has_object_permission(self, request: Request, view: APIView, obj: Item) -> bool:
        return obj.owner_id == request.user.pk


class OwnerStillExists(BasePermission):
    """Reads the database (the owner's row): allowed, at a trip per subscriber."""

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        owner = obj.owner_id
        return (
            owner is not None and User.objects.filter(pk=owner, pk__in=[context.user.pk]).exists()
        )


def guarded(permission: PermissionSpec) -> type[AsyncAPIConsumer]:
    class Guarded(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
        permission_classes = (permission,)

    return Guarded


class MineOnly(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    recheck_queryset = True

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.filter(owner=self.user.pk)


@pytest.fixture
async def bob() -> User:
    return await db.run(User.objects.create_user, "bob")


@pytest.fixture
async def carol() -> User:
    return await db.run(User.objects.create_user, "carol")


async def give(item: Item, owner: User) -> None:
    item.owner = owner
    await db.run(item.save)


DENIED: list[JSONValue] = ["You do not have permission to perform this action."]


@pytest.mark.parametrize(
    "consumer",
    [guarded(OwnerOnly), guarded(DRFOwnerOnly), guarded(OwnerStillExists), MineOnly],
    ids=["permission", "drf-permission", "permission-reading-the-database", "queryset"],
)
async def test_a_subscriber_who_loses_access_gets_one_403_and_nothing_more(
    consumer: type[AsyncAPIConsumer], bob: User, carol: User
) -> None:
    """Bob subscribes to his item; once it is carol's, his subscription gets one 403 (for its
    request_id) and hears nothing of later changes."""
    item = await db.run(Item.objects.create, name="milk", slug="milk", owner=bob)
    async with ApiClient(consumer, user=bob) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": "s"})
        assert (await client.receive())["response_status"] == 201
        item.name = "still his"
        await db.run(item.save)
        assert (await client.receive())["response_status"] == 200
        await give(item, carol)
        assert await client.receive() == envelope("update", 403, errors=DENIED, request_id="s")
        await give(item, bob)
        assert await client.receive_nothing()


async def test_an_anonymous_subscriber_who_loses_access_gets_a_401(carol: User) -> None:
    """The refusal is a 401 for an anonymous subscriber, as for actions."""
    item = await db.run(Item.objects.create, name="milk", slug="milk")
    async with ApiClient(guarded(OwnerOnly)) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 1})
        assert (await client.receive())["response_status"] == 201
        await give(item, carol)
        refused = await client.receive()
    assert (refused["response_status"], refused["request_id"]) == (401, 1)


async def test_a_subscription_the_object_permission_refuses_is_a_403(
    bob: User, carol: User
) -> None:
    """Subscribing checks the object permissions first."""
    item = await db.run(Item.objects.create, name="milk", slug="milk", owner=carol)
    async with ApiClient(guarded(OwnerOnly), user=bob) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 1})
        refused = await client.receive()
    assert refused == envelope("subscribe_instance", 403, errors=DENIED, request_id=1)


@pytest.mark.parametrize("subscribers", [1, 10, 100])
async def test_one_change_costs_the_same_whatever_the_number_of_subscribers(
    subscribers: int, bob: User, trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One change, with 1, 10 or 100 subscribers whose object permission is checked: one
    serialization, the same statements (the save, then one read of the row at commit) and the
    same trips to the database thread (the save's own); every subscriber receives the event."""
    item = await db.run(Item.objects.create, name="milk", slug="milk", owner=bob)
    consumer = guarded(OwnerOnly)
    observer = cast("type[ObserveInstanceMixin[Item, ItemSerializer]]", consumer).instance_observer
    serialize = observer.serialize
    serialized: list[object] = []

    def counting(row: Item) -> InstanceData:
        serialized.append(row.pk)
        return serialize(row)

    monkeypatch.setattr(observer, "serialize", counting)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(ApiClient(consumer, user=bob))
            for _ in range(subscribers)
        ]
        for number, client in enumerate(clients):
            await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": number})
            assert (await client.receive())["response_status"] == 201
        async with database_thread_queries() as statements:
            trips.clear()
            item.name = "oat milk"
            await db.run(item.save)
            events = await asyncio.gather(*(client.receive() for client in clients))
            made = list(trips)
    assert [event["request_id"] for event in events] == list(range(subscribers))
    assert {str(cast("JSONObject", event["data"])["name"]) for event in events} == {"oat milk"}
    assert serialized == [item.pk]
    assert keywords(statements) == ["UPDATE", "SELECT"]
    assert len(made) == 1


def test_the_row_checked_at_delivery_has_the_fields_the_facts_name() -> None:
    """Rebuilt from the facts: the model's fields among them, parsed by the field (a value
    that does not parse is kept as it came); other keys are left out."""
    observer = MineOnly.instance_observer
    row = observer.shadow({"owner_id": "5", "name": "milk", "team": 1})
    assert (row.owner_id, row.name, row.slug) == (5, "milk", "")
    assert str(observer.shadow({"uuid": "not a uuid"}).uuid) == "not a uuid"


class OwnItemsFeed(AsyncAPIConsumer):
    """Every item's changes, each checked against the subscriber: a group of many rows."""

    permission_classes = (OwnerOnly,)
    items = observe(Item, item_out)

    @action()
    async def follow(self) -> Response[None]:
        await self.items.subscribe()
        return Response.created(None)


async def test_a_subscription_to_many_rows_skips_those_the_subscriber_may_not_see(
    bob: User, carol: User
) -> None:
    """In a group of many rows a refusal is about one row: it is skipped, deletes included,
    and the subscription goes on."""
    async with ApiClient(OwnItemsFeed, user=bob) as client:
        feed = await client.subscribe(OwnItemsFeed.items.observer, OwnItemsFeed.follow)
        hers = await db.run(Item.objects.create, name="hers", slug="hers", owner=carol)
        await db.run(hers.delete)
        mine = await db.run(Item.objects.create, name="mine", slug="mine", owner=bob)
        event = await feed.next()
        assert (event.action, event.data) == ("create", ItemOut(mine.pk, "mine"))
        assert await feed.nothing()


class Undone(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    recheck_queryset = True

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.filter(done=False)


async def test_a_row_leaving_the_queryset_is_a_401_for_an_anonymous_subscriber() -> None:
    """As every refusal: 401 when anonymous, 403 otherwise."""
    item = await db.run(Item.objects.create, name="milk", slug="milk")
    async with ApiClient(Undone) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 1})
        assert (await client.receive())["response_status"] == 201
        item.done = True
        await db.run(item.save)
        refused = await client.receive()
    assert (refused["response_status"], refused["request_id"]) == (401, 1)
