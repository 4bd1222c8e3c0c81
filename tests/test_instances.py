"""Instance subscriptions: DCRF's subscribe_instance frames, events with the subscription's
request_id, unsubscribing, and what subscribing can refuse."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.test import override_settings

from tests.app.consumers import ObservedItems
from tests.app.models import Item, Note
from tests.app.serializers import ItemSerializer, NoteSerializer
from tests.frames import envelope, item_row
from typed_dcrf import (
    ModelConsumer,
    ObserveInstanceMixin,
    ReadOnlyModelConsumer,
    Response,
    action,
    db,
    observe,
)
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject, JSONValue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def item() -> Item:
    return await db.run(Item.objects.create, name="milk", slug="milk")


async def subscribe(client: ApiClient, request_id: JSONValue, **lookup: JSONValue) -> JSONObject:
    await client.send({"action": "subscribe_instance", "request_id": request_id, **lookup})
    return await client.reply_to(request_id, action="subscribe_instance")


async def rename(item: Item, name: str) -> None:
    item.name = name
    await db.run(item.save)


async def test_subscribe_is_201_and_a_change_arrives_with_the_request_id(item: Item) -> None:
    """subscribe_instance {pk} → 201 data null; a save → an update with the serialized row and
    the subscription's request_id, DCRF's frame exactly."""
    async with ApiClient(ObservedItems) as client:
        assert await subscribe(client, 4, pk=item.pk) == envelope(
            "subscribe_instance", 201, request_id=4
        )
        await rename(item, "oat milk")
        assert await client.receive() == envelope("update", 200, data=item_row(item), request_id=4)


async def test_a_delete_arrives_as_204_with_the_pk(item: Item) -> None:
    """Deleting the row sends delete, 204, data {"pk": pk}."""
    pk = item.pk
    async with ApiClient(ObservedItems) as client:
        await subscribe(client, "s", pk=pk)
        await db.run(item.delete)
        assert await client.receive() == envelope("delete", 204, data={"pk": pk}, request_id="s")


async def test_changes_through_another_connection_reach_the_subscriber(item: Item) -> None:
    """A patch made by another client is an event for the subscriber, after the patch's reply."""
    async with ApiClient(ObservedItems) as watcher, ApiClient(ObservedItems) as editor:
        await subscribe(watcher, 1, pk=item.pk)
        patched = await editor.call(ObservedItems.patch, pk=item.pk, data={"done": True})
        event = await watcher.receive()
    assert event == envelope("update", 200, data=dict(patched.data), request_id=1)
    assert await editor.receive_nothing()


async def test_unsubscribing_ends_the_events_of_that_request_id_only(item: Item) -> None:
    """Two request_ids on one connection: unsubscribing one (204), before or after an event,
    leaves the other's events alone (DCRF silences both)."""
    async with ApiClient(ObservedItems) as client:
        await subscribe(client, "a", pk=item.pk)
        await subscribe(client, "b", pk=item.pk)
        await rename(item, "first")
        assert sorted([str((await client.receive())["request_id"]) for _ in range(2)]) == ["a", "b"]
        await client.send({"action": "unsubscribe_instance", "pk": item.pk, "request_id": "a"})
        assert await client.reply_to("a") == envelope("unsubscribe_instance", 204, request_id="a")
        await rename(item, "second")
        event = await client.receive()
        assert (event["request_id"], event["action"]) == ("b", "update")
        assert await client.receive_nothing()


async def test_unsubscribing_without_a_request_id_ends_every_subscription_to_the_row(
    item: Item,
) -> None:
    """unsubscribe_instance {pk} with no request_id ends all of this connection's
    subscriptions to that row; an unknown request_id is a 404."""
    async with ApiClient(ObservedItems) as client:
        await subscribe(client, "a", pk=item.pk)
        await subscribe(client, "b", pk=item.pk)
        await client.send({"action": "unsubscribe_instance", "pk": item.pk})
        assert (await client.receive())["response_status"] == 204
        await rename(item, "unheard")
        assert await client.receive_nothing()
        await client.send({"action": "unsubscribe_instance", "pk": item.pk, "request_id": "a"})
        assert await client.receive() == envelope(
            "unsubscribe_instance",
            404,
            errors=["No subscription has this request_id."],
            request_id="a",
        )


async def test_subscribing_twice_with_one_request_id_replaces_the_subscription(
    item: Item,
) -> None:
    """A second subscribe_instance with a request_id already subscribed replaces the first:
    one event per change, for the row subscribed last."""
    other = await db.run(Item.objects.create, name="bread", slug="bread")
    async with ApiClient(ObservedItems) as client:
        await subscribe(client, 7, pk=item.pk)
        assert (await subscribe(client, 7, pk=other.pk))["response_status"] == 201
        await rename(item, "unheard")
        await rename(other, "rye")
        event = await client.receive()
        assert (event["request_id"], event["data"]) == (7, item_row(other))
        assert await client.receive_nothing()


@pytest.mark.parametrize(
    ("frame", "status", "errors"),
    [
        (
            {"action": "subscribe_instance", "pk": 1},
            400,
            ["subscribe_instance needs a request_id: its events carry it."],
        ),
        ({"action": "subscribe_instance", "pk": 10**9, "request_id": 1}, 404, ["Not found"]),
        (
            {"action": "subscribe_instance", "pk": "x", "request_id": 1},
            400,
            [{"pk": ["A valid integer is required."]}],
        ),
    ],
    ids=["no-request-id", "missing-row", "bad-lookup"],
)
async def test_what_subscribing_refuses(
    item: Item, frame: JSONObject, status: int, errors: list[JSONValue]
) -> None:
    """Subscribing needs a request_id (400), a row (404) and a valid lookup (400)."""
    async with ApiClient(ObservedItems) as client:
        await client.send(frame)
        reply = await client.receive()
    assert (reply["response_status"], reply["errors"]) == (status, errors)


class OwnItems(
    ObserveInstanceMixin[Item, ItemSerializer], ReadOnlyModelConsumer[Item, ItemSerializer]
):
    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.filter(owner=self.user.pk)


async def test_a_row_outside_a_per_user_queryset_is_a_404(item: Item) -> None:
    """A row the consumer's get_queryset() hides cannot be subscribed to."""
    bob = await db.run(User.objects.create_user, "bob")
    async with ApiClient(OwnItems, user=bob) as client:
        reply = await subscribe(client, 1, pk=item.pk)
    assert (reply["response_status"], reply["errors"]) == (404, ["Not found"])


class BySlug(
    ObserveInstanceMixin[Item, ItemSerializer], ReadOnlyModelConsumer[Item, ItemSerializer]
):
    lookup_field = "slug"


class Notes(ObserveInstanceMixin[Note, NoteSerializer], ModelConsumer[Note, NoteSerializer]):
    """A subclass of the same mixin with another model."""


async def test_any_lookup_field_and_another_model(item: Item) -> None:
    """Subscribing by slug works; a consumer of another model hears only of its own rows."""
    note = await db.run(Note.objects.create, text="hello")
    async with ApiClient(BySlug) as items, ApiClient(Notes) as notes:
        await subscribe(items, "i", slug="milk")
        await subscribe(notes, "n", pk=note.pk)
        await rename(item, "oat milk")
        note.text = "bye"
        await db.run(note.save)
        assert (await items.receive())["data"] == item_row(item)
        assert (await notes.receive())["data"] == {"id": note.pk, "text": "bye"}
        assert await items.receive_nothing()
        assert await notes.receive_nothing()


@override_settings(TYPED_DCRF={"MAX_SUBSCRIPTIONS": 2})
async def test_subscriptions_per_connection_are_limited(item: Item) -> None:
    """Beyond MAX_SUBSCRIPTIONS, subscribing is a 429 naming the limit; replacing one is not."""
    async with ApiClient(ObservedItems) as client:
        await subscribe(client, 1, pk=item.pk)
        await subscribe(client, 2, pk=item.pk)
        refused = await subscribe(client, 3, pk=item.pk)
        assert (await subscribe(client, 2, pk=item.pk))["response_status"] == 201
    assert (refused["response_status"], refused["errors"]) == (
        429,
        ["A connection may hold at most 2 subscriptions; unsubscribe one first."],
    )


async def test_the_typed_client_subscribes_and_awaits_typed_events(item: Item) -> None:
    """ApiClient.subscribe returns the subscription; next() is the event, its data parsed
    into the observer's T; nothing() says no event came."""
    async with ApiClient(ObservedItems) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        assert await subscription.nothing()
        await rename(item, "oat milk")
        event = await subscription.next()
        assert (event.action, event.status, event.data) == ("update", 200, item_row(item))
        pk = item.pk
        await db.run(item.delete)
        deleted = await subscription.next()
        assert (deleted.action, deleted.status, deleted.data, deleted.pk) == (
            "delete",
            204,
            None,
            pk,
        )


def item_name(item: Item) -> str:
    return item.name


class ItemsAndNames(
    ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]
):
    """Instance subscriptions and an observer of every item's name, on one connection."""

    names = observe(Item, item_name)

    @action()
    async def follow(self) -> Response[None]:
        await self.names.subscribe()
        return Response.created(None)

    @action()
    async def unfollow(self) -> Response[bool]:
        return Response.ok(await self.names.unsubscribe())


async def test_unsubscribing_ends_the_observers_own_subscriptions_only(item: Item) -> None:
    """unsubscribe_instance with the request_id of another observer's subscription is a 404,
    observer.unsubscribe() with an instance subscription's is False: both go on."""
    async with ApiClient(ItemsAndNames) as client:
        names = await client.subscribe(ItemsAndNames.names.observer, ItemsAndNames.follow)
        row = await client.subscribe(
            ItemsAndNames.instance_observer, ItemsAndNames.subscribe_instance, pk=item.pk
        )
        await client.send(
            {"action": "unsubscribe_instance", "pk": item.pk, "request_id": names.request_id}
        )
        refused = await client.reply_to(names.request_id, action="unsubscribe_instance")
        assert refused["response_status"] == 404
        await client.send({"action": "unfollow", "request_id": row.request_id})
        assert (await client.reply_to(row.request_id, action="unfollow"))["data"] is False
        await rename(item, "both hear it")
        assert (await names.next()).data == "both hear it"
        event = await row.next()
        assert event.data is not None
        assert event.data["name"] == "both hear it"


async def test_unsubscribing_without_a_request_id_from_a_missing_row_is_a_404() -> None:
    """Without a request_id the row is looked up, as DCRF does."""
    async with ApiClient(ObservedItems) as client:
        await client.send({"action": "unsubscribe_instance", "pk": 10**9})
        reply = await client.receive()
    assert (reply["response_status"], reply["errors"]) == (404, ["Not found"])
