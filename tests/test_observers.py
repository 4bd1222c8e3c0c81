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
from django.dispatch import Signal

from tests.app.models import Item
from typed_dcrf import AsyncAPIConsumer, Response, action, db, observe, observe_signal
from typed_dcrf._groups import MAX_LENGTH, group_name
from typed_dcrf.testing import ApiClient

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
