"""Observers declared on consumers: observe() (DCRF's @model_observer) with typed payloads and
group keys, observe_signal() (DCRF's @observer), and group names valid everywhere."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.dispatch import Signal

from tests.app.models import Item
from tests.queries import database_thread_queries
from typed_dcrf import AsyncAPIConsumer, Response, action, db, notify, observe, observe_signal
from typed_dcrf._groups import MAX_LENGTH, group_name
from typed_dcrf.testing import ApiClient, UnexpectedReply

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class ItemOut:
    pk: int
    name: str
    owner: int | None


def item_out(item: Item) -> ItemOut:
    return ItemOut(item.pk, item.name, item.owner_id)


def owners(item: Item) -> list[tuple[str | int, ...]]:
    return [("owner", item.owner_id or 0)]


@dataclass
class Shout:
    text: str


shouted = Signal()


def shout(sender: object, text: str, **_: object) -> Shout:
    return Shout(text.upper())


class Watch(AsyncAPIConsumer):
    items = observe(Item, item_out, groups=owners)
    all_items = observe(Item, item_out)
    shouts = observe_signal(shouted, shout)

    @action()
    async def follow(self, owner: int) -> Response[None]:
        await self.items.subscribe("owner", owner)
        return Response.created(None)

    @action()
    async def follow_all(self) -> Response[None]:
        await self.all_items.subscribe()
        return Response.created(None)

    @action()
    async def listen(self) -> Response[None]:
        await self.shouts.subscribe()
        return Response.created(None)

    @action()
    async def stop(self) -> Response[bool]:
        return Response.ok(await self.items.unsubscribe())


async def test_an_observer_sends_typed_events_to_the_groups_its_hook_names() -> None:
    """Events of rows of owner 5 reach the subscription to ("owner", 5), typed as the
    serializer's return annotation; other owners' rows do not."""
    async with ApiClient(Watch) as client:
        five = await client.subscribe(Watch.items.observer, Watch.follow, owner=5)
        await db.run(Item.objects.create, name="theirs", slug="theirs")
        bob = await db.run(User.objects.create_user, "bob", pk=5)
        mine = await db.run(Item.objects.create, name="mine", slug="mine", owner=bob)
        event = await five.next()
        assert (event.action, event.status, event.data) == (
            "create",
            200,
            ItemOut(mine.pk, "mine", 5),
        )
        assert await five.nothing()


def move_to(pk: int, *owners: int) -> None:
    with transaction.atomic():
        for owner in owners:
            Item.objects.filter(pk=pk).update(owner=owner)
            item = Item.objects.get(pk=pk)
            item.save()


async def test_a_row_moved_in_a_transaction_reaches_the_groups_of_its_final_state() -> None:
    """Its groups are read from the committed row, not from the first save of it."""
    await db.run(User.objects.create_user, "five", pk=5)
    await db.run(User.objects.create_user, "six", pk=6)
    item = await db.run(Item.objects.create, name="moving", slug="moving")
    async with ApiClient(Watch) as client:
        six = await client.subscribe(Watch.items.observer, Watch.follow, owner=6)
        await db.run(move_to, item.pk, 5, 6)
        event = await six.next()
        assert (event.action, event.data) == ("update", ItemOut(item.pk, "moving", 6))


async def test_notify_reaches_the_groups_of_the_row_it_reads() -> None:
    """notify() knows only primary keys: the groups come from the row read at commit."""
    await db.run(User.objects.create_user, "five", pk=5)
    item = await db.run(Item.objects.create, name="bulk", slug="bulk", owner_id=5)
    async with ApiClient(Watch) as client:
        five = await client.subscribe(Watch.items.observer, Watch.follow, owner=5)
        await db.run(Item.objects.filter(pk=item.pk).update, name="bulk, renamed")
        await db.run(notify, Item, [item.pk])
        event = await five.next()
        assert (event.action, event.data) == ("update", ItemOut(item.pk, "bulk, renamed", 5))


async def test_with_nobody_listening_a_save_reads_nothing_more() -> None:
    """In-memory layer: no subscription in the process, so no SELECT of the row at commit,
    whichever observers the model has; once someone listens, one."""
    item = await db.run(Item.objects.create, name="quiet", slug="quiet")
    async with database_thread_queries() as unheard:
        await db.run(item.save)
    async with ApiClient(Watch) as client:
        await client.subscribe(Watch.all_items.observer, Watch.follow_all)
        async with database_thread_queries() as heard:
            await db.run(item.save)
    assert [sql.split()[0] for sql in unheard] == ["UPDATE"]
    assert [sql.split()[0] for sql in heard] == ["UPDATE", "SELECT"]


async def test_without_a_groups_hook_one_group_hears_of_every_row() -> None:
    """observe(Model, serializer) alone: a subscription with no key hears of every change."""
    async with ApiClient(Watch) as client:
        every = await client.subscribe(Watch.all_items.observer, Watch.follow_all)
        first = await db.run(Item.objects.create, name="a", slug="a")
        pk = first.pk
        await db.run(first.delete)
        created, deleted = await every.next(), await every.next()
    assert (created.action, deleted.action, deleted.pk) == ("create", "delete", pk)


async def test_unsubscribe_ends_the_running_requests_subscription() -> None:
    """observer.unsubscribe() ends the subscription of the frame's request_id."""
    async with ApiClient(Watch) as client:
        await client.send({"action": "follow", "owner": 0, "request_id": "f"})
        await client.receive()
        await client.send({"action": "stop", "request_id": "f"})
        assert (await client.reply_to("f", action="stop"))["data"] is True
        await db.run(Item.objects.create, name="unheard", slug="unheard")
        assert await client.receive_nothing()


async def test_a_signal_observer_sends_each_sending_once() -> None:
    """observe_signal(signal, serializer): each sending is one event, action the attribute's
    name, its payload the serializer's."""
    async with ApiClient(Watch) as client:
        listening = await client.subscribe(Watch.shouts.observer, Watch.listen)
        # django-stubs leave Signal.send partly unknown to pyright.
        await db.run(shouted.send, sender=None, text="hello")  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        event = await listening.next()
    assert (event.action, event.status, event.data) == ("shouts", 200, Shout("HELLO"))


async def test_subscribing_needs_a_request_id() -> None:
    """Events carry the subscription's request_id: a frame without one is a 400."""
    async with ApiClient(Watch) as client:
        await client.send({"action": "follow_all"})
        reply = await client.receive()
    assert (reply["response_status"], reply["errors"]) == (
        400,
        ["follow_all needs a request_id: its events carry it."],
    )


async def test_an_event_whose_data_is_not_the_observers_type_is_an_unexpected_reply() -> None:
    """The test client parses each event's data into the observer's T, and says so when it
    does not fit."""
    async with ApiClient(Watch) as client:
        every = await client.subscribe(Watch.all_items.observer, Watch.follow_all)
        await client.communicator.send_input(
            {
                "type": "typed_dcrf.event",
                "group": Watch.all_items.observer.group(),
                "action": "update",
                "pk": 1,
                "data": '{"name": 1}',
                "facts": {},
            }
        )
        with pytest.raises(UnexpectedReply):
            await every.next()


def test_a_serializer_without_a_return_annotation_is_refused() -> None:
    """The payload type is declared by the serializer: without it, the class is refused."""

    def unannotated(item: Item):  # type: ignore[no-untyped-def]  # the mistake under test
        return item.name

    with pytest.raises(ImproperlyConfigured, match="annotate the serializer's return type"):

        class Broken(AsyncAPIConsumer):  # pyright: ignore[reportUnusedClass]
            items = observe(Item, cast("Callable[[Item], str]", unannotated))


@pytest.mark.parametrize(
    "parts",
    [
        ("tests.app.consumers.ObservedItems.instance", "pk", "42"),
        ("a" * 300,),
        ("weird names/with spaces", "ü", "?*"),
    ],
)
def test_group_names_are_valid_for_every_layer(parts: tuple[str, ...]) -> None:
    """Readable, shorter than 100 characters, of the characters channels allows."""
    name = group_name(*parts)
    assert len(name) <= MAX_LENGTH
    assert re.fullmatch(r"[a-zA-Z\d\-_.]+", name)
    assert name.startswith("dcrf.")


def test_group_names_never_collide() -> None:
    """Parts that clean to the same text, or that only split differently, name two groups."""
    names = {
        group_name("a b"),
        group_name("a-b"),
        group_name("a", "b"),
        group_name("a.b"),
        group_name("x" * 200 + "1"),
        group_name("x" * 200 + "2"),
    }
    assert len(names) == 6
