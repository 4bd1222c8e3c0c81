"""The event path: events after commit only, one per row and transaction with its final state,
the row's own database, saves from async code and from a loop's thread, many-to-many changes,
and notify() for changes that send no signals."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import QuerySet

from tests.app.consumers import ObservedBoards, ObservedItems
from tests.app.models import Board, Item
from tests.app.serializers import ItemSerializer
from tests.frames import item_row
from typed_dcrf import ModelConsumer, ObserveInstanceMixin, _events, db, notify
from typed_dcrf.instances import InstanceData
from typed_dcrf.testing import ApiClient, Subscribed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def item() -> Item:
    return await db.run(Item.objects.create, name="milk", slug="milk")


async def watch(client: ApiClient, item: Item) -> Subscribed[InstanceData]:
    return await client.subscribe(
        ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
    )


def rename_in_a_transaction(pk: int, *names: str) -> None:
    with transaction.atomic():
        for name in names:
            item = Item.objects.get(pk=pk)
            item.name = name
            item.save()


async def test_several_saves_in_a_transaction_are_one_event_with_the_final_state(
    item: Item,
) -> None:
    """Three saves of one row in one transaction: one update, carrying the last name."""
    async with ApiClient(ObservedItems) as client:
        subscription = await watch(client, item)
        await db.run(rename_in_a_transaction, item.pk, "a", "b", "final")
        event = await subscription.next()
        assert event.data is not None
        assert event.data["name"] == "final"
        assert await subscription.nothing()


def fail_in_a_transaction(pk: int) -> None:
    with transaction.atomic():
        Item.objects.filter(pk=pk).update(name="never")
        item = Item.objects.get(pk=pk)
        item.save()
        raise RuntimeError("roll back")


async def test_a_rolled_back_transaction_sends_nothing(item: Item) -> None:
    """Nothing is sent for changes that were rolled back."""
    async with ApiClient(ObservedItems) as client:
        subscription = await watch(client, item)
        with pytest.raises(RuntimeError):
            await db.run(fail_in_a_transaction, item.pk)
        assert await subscription.nothing()


def save_then_roll_back_a_savepoint(pk: int) -> None:
    with transaction.atomic():
        kept = Item.objects.get(pk=pk)
        kept.name = "kept"
        kept.save()
        try:
            with transaction.atomic():
                undone = Item.objects.get(pk=pk)
                undone.name = "undone"
                undone.save()
                raise RuntimeError("roll back the savepoint")
        except RuntimeError:
            pass


async def test_a_rolled_back_savepoint_sends_nothing_of_its_changes(item: Item) -> None:
    """A save kept and one in a rolled-back savepoint: one event, with the kept state."""
    async with ApiClient(ObservedItems) as client:
        subscription = await watch(client, item)
        await db.run(save_then_roll_back_a_savepoint, item.pk)
        event = await subscription.next()
        assert event.data is not None
        assert event.data["name"] == "kept"
        assert await subscription.nothing()


def create_and_delete(slug: str) -> int:
    with transaction.atomic():
        made = Item.objects.create(name="brief", slug=slug)
        pk = made.pk
        made.delete()
    return pk


def update_then_delete(pk: int) -> None:
    with transaction.atomic():
        item = Item.objects.get(pk=pk)
        item.name = "going"
        item.save()
        item.delete()


async def test_create_then_delete_is_nothing_and_update_then_delete_is_a_delete(
    item: Item,
) -> None:
    """A row made and removed in one transaction sends nothing; one changed, then removed,
    sends one delete."""
    async with ApiClient(ObservedItems) as client:
        subscription = await watch(client, item)
        await db.run(create_and_delete, "brief")
        assert await subscription.nothing()
        pk = item.pk
        await db.run(update_then_delete, pk)
        event = await subscription.next()
        assert (event.action, event.pk) == ("delete", pk)
        assert await subscription.nothing()


class OtherItems(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    """Items of the "other" database."""

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.using("other")


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
async def test_a_row_of_another_database_is_observed_on_its_own_commit() -> None:
    """A row saved with using="other" is read and sent after the commit of that database, to
    the subscribers of that database's row only (a row of another database with the same
    primary key is another row)."""
    elsewhere = await db.run(Item.objects.using("other").create, name="far", slug="far")
    near = await db.run(Item.objects.create, pk=elsewhere.pk, name="near", slug="near")

    def rename_elsewhere() -> None:
        with transaction.atomic(using="other"):
            row = Item.objects.using("other").get(pk=elsewhere.pk)
            row.name = "farther"
            row.save(using="other")

    async with ApiClient(OtherItems) as far_client, ApiClient(ObservedItems) as near_client:
        far = await far_client.subscribe(
            OtherItems.instance_observer, OtherItems.subscribe_instance, pk=elsewhere.pk
        )
        same_pk = await watch(near_client, near)
        await db.run(rename_elsewhere)
        event = await far.next()
        assert await same_pk.nothing()
    assert event.data is not None
    assert event.data["name"] == "farther"


async def test_saves_from_async_code_and_from_a_loops_own_thread_are_sent(
    item: Item, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save through typed_dcrf.db from async code, and one made in a thread whose event loop
    is running (here the test's own, ORM calls allowed there), both deliver."""
    async with ApiClient(ObservedItems) as client:
        subscription = await watch(client, item)
        item.name = "through db.run"
        await db.run(item.save)
        assert (await subscription.next()).data == item_row(item)
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        item.name = "on the loop's thread"
        item.save()
        assert (await subscription.next()).data == item_row(item)
        connection.close()  # the one that save opened on this thread


async def test_notify_tells_of_changes_that_send_no_signals(item: Item) -> None:
    """QuerySet.update() sends no signal: notify(Model, pks) sends the rows' events, read at
    commit (a row that is gone is sent as deleted)."""
    async with ApiClient(ObservedItems) as client:
        subscription = await watch(client, item)
        await db.run(Item.objects.filter(pk=item.pk).update, name="bulk")
        assert await subscription.nothing()
        await db.run(notify, Item, [item.pk])
        event = await subscription.next()
        assert event.data is not None
        assert event.data["name"] == "bulk"
        await db.run(Item.objects.filter(pk=item.pk).delete)
        assert (await subscription.next()).action == "delete"


async def test_many_to_many_changes_are_updates_when_observed() -> None:
    """Adding and removing members of a board observed with many_to_many are its updates."""
    board = await db.run(Board.objects.create, name="tasks")
    bob = await db.run(User.objects.create_user, "bob")
    async with ApiClient(ObservedBoards) as client:
        subscription = await client.subscribe(
            ObservedBoards.instance_observer, ObservedBoards.subscribe_instance, pk=board.pk
        )
        await db.run(board.members.add, bob)
        added = await subscription.next()
        await db.run(board.members.remove, bob)
        removed = await subscription.next()
    assert added.data is not None
    assert removed.data is not None
    assert (added.data["members"], removed.data["members"]) == ([bob.pk], [])


class UserBoards(Protocol):
    """What the test uses of ``user.boards``."""

    def add(self, *boards: Board) -> None: ...
    def remove(self, *boards: Board) -> None: ...
    def clear(self) -> None: ...


def boards_of(user: User) -> UserBoards:
    # The reverse accessor comes from mypy's Django plugin; pyright does not see it.
    return user.boards  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]


async def test_many_to_many_changes_from_the_other_side_are_updates_too() -> None:
    """user.boards.add(), .remove() and .clear() change the boards: each board's update."""
    board = await db.run(Board.objects.create, name="tasks")
    bob = await db.run(User.objects.create_user, "bob")
    async with ApiClient(ObservedBoards) as client:
        subscription = await client.subscribe(
            ObservedBoards.instance_observer, ObservedBoards.subscribe_instance, pk=board.pk
        )
        boards = boards_of(bob)
        members: list[object] = []
        for change in (boards.add, boards.remove, boards.add):
            await db.run(change, board)
            event = await subscription.next()
            assert event.data is not None
            members.append(event.data["members"])
        await db.run(boards.clear)
        cleared = await subscription.next()
    assert cleared.data is not None
    assert [*members, cleared.data["members"]] == [[bob.pk], [], [bob.pk], []]


async def test_a_save_returns_once_its_events_are_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A save from async code (db.run, a sync action) returns after its events are on the
    layer: nothing is left pending for the loop (a test's loop may end at once), and a client
    that subscribes next does not get the event of a save made before."""
    item = await db.run(Item.objects.create, name="milk", slug="milk")
    sent: list[int] = []
    send_all = _events._send_all  # pyright: ignore[reportPrivateUsage]

    async def slow(layer: Any, messages: Any) -> None:
        await asyncio.sleep(0.05)
        await send_all(layer, messages)
        sent.append(len(messages))

    monkeypatch.setattr(_events, "_send_all", slow)
    async with ApiClient(ObservedItems) as client:
        await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        item.name = "oat milk"
        await db.run(item.save)
        assert sent == [1]
        await client.call(ObservedItems.patch, pk=item.pk, data={"name": "milk"})
        assert sent == [1, 1]
