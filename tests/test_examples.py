"""The README's examples work exactly as printed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from examples.items import ItemBySlugConsumer, ItemConsumer, ItemPagesConsumer, ItemRowsConsumer
from examples.live import (
    Announcement,
    Dashboard,
    ItemList,
    ItemOut,
    LiveItems,
    announced,
    finish_all,
)
from examples.quickstart import NoteConsumer, NoteOut
from tests.app.models import Item
from typed_dcrf import db, notify
from typed_dcrf.testing import ApiClient, ConnectionRefused, ErrorReply


@pytest.mark.django_db(transaction=True)
async def test_quickstart_consumer() -> None:
    """Create a note, read it back, and meet the 404, 400 and 403 paths."""
    async with ApiClient(NoteConsumer) as client:
        created = await client.call(NoteConsumer.add_note, text="hello")
        assert created.status == 201
        fetched = await client.call(NoteConsumer.get_note, pk=created.data.id)
        assert fetched.data == NoteOut(id=created.data.id, text="hello")

        with pytest.raises(ErrorReply) as missing:
            await client.call(NoteConsumer.get_note, pk=999)
        assert missing.value.status == 404

        with pytest.raises(ErrorReply) as too_long:
            await client.call(NoteConsumer.add_note, text="x" * 101)
        assert too_long.value.errors == [{"text": ["String should have at most 100 characters."]}]

        with pytest.raises(ErrorReply) as refused:
            await client.call(NoteConsumer.get_note, pk=1000)
        assert (refused.value.status, refused.value.errors) == (
            401,
            ["Authentication credentials were not provided."],
        )


@pytest.fixture
def alice(transactional_db: None) -> User:
    return User.objects.create_user("alice")


@pytest.mark.django_db(transaction=True)
async def test_item_consumer(alice: User) -> None:
    """The README's model consumer: CRUD, the typed filter, ordering and custom actions."""
    async with ApiClient(ItemConsumer, user=alice) as client:
        milk = await client.call(ItemConsumer.create, data={"name": "milk", "slug": "milk"})
        assert milk.status == 201
        assert milk.data["owner"] == alice.pk
        await client.call(ItemConsumer.create, data={"name": "eggs", "slug": "eggs"})
        pk = milk.data["id"]
        assert (await client.call(ItemConsumer.mark_done, pk=pk)).status == 204
        done = await client.call(ItemConsumer.list, done=True)
        assert [item["name"] for item in done.data] == ["milk"]
        ordered = await client.call(ItemConsumer.list, ordering="name")
        assert [item["name"] for item in ordered.data] == ["eggs", "milk"]
        assert (await client.call(ItemConsumer.owner_of, pk=pk)).data == alice.pk
        patched = await client.call(ItemConsumer.patch, pk=pk, data={"name": "oat milk"})
        assert patched.data["name"] == "oat milk"
        assert (await client.call(ItemConsumer.delete, pk=pk)).status == 204


@pytest.mark.django_db(transaction=True)
async def test_item_consumer_lets_only_owners_change_items(alice: User) -> None:
    """Another user's item can be read but not changed; anonymous connections are refused."""
    bob = await User.objects.acreate(username="bob")
    theirs = await Item.objects.acreate(name="tea", slug="tea", owner=bob)
    async with ApiClient(ItemConsumer, user=alice) as client:
        assert (await client.call(ItemConsumer.retrieve, pk=theirs.pk)).data["name"] == "tea"
        with pytest.raises(ErrorReply) as refused:
            await client.call(ItemConsumer.patch, pk=theirs.pk, data={"name": "coffee"})
        assert (refused.value.status, refused.value.errors) == (
            403,
            ["Only the owner may change an item."],
        )
    with pytest.raises(ConnectionRefused):
        async with ApiClient(ItemConsumer):
            pass


@pytest.mark.django_db(transaction=True)
async def test_slug_lookup_and_pages() -> None:
    """Lookup by slug; one page of a list, then every page streamed."""
    await Item.objects.abulk_create(Item(name=f"n{i}", slug=f"s{i}") for i in range(25))
    async with ApiClient(ItemBySlugConsumer) as client:
        found = await client.call(ItemBySlugConsumer.retrieve, slug="s3")
        assert found.data["name"] == "n3"
    async with ApiClient(ItemPagesConsumer) as client:
        page = await client.call(ItemPagesConsumer.list, offset=20)
        assert (page.data.count, page.data.limit, len(page.data.results)) == (25, 20, 5)
        pages, end = await client.call_streamed(ItemPagesConsumer.stream_list, limit=10)
        assert len(pages) == 3
        assert (end.data.count, end.data.cancelled) == (25, False)


@pytest.mark.django_db(transaction=True)
async def test_stream_read_page_by_page() -> None:
    """The README's stream test: pages as they come, then the end marker."""
    await Item.objects.abulk_create(Item(name=f"n{i}", slug=f"s{i}") for i in range(25))
    async with ApiClient(ItemPagesConsumer) as client:
        stream = await client.stream(ItemPagesConsumer.stream_list, limit=10)
        pages = [page async for page in stream]
    assert len(pages) == 3
    assert stream.response.data.count == 25


@pytest.mark.django_db(transaction=True)
async def test_live_items(alice: User) -> None:
    """The README's instance subscription: events of one's own item, then its delete."""
    bob = await db.run(User.objects.create_user, "bob")
    mine = await db.run(Item.objects.create, name="milk", slug="milk", owner=alice)
    theirs = await db.run(Item.objects.create, name="eggs", slug="eggs", owner=bob)
    async with ApiClient(LiveItems, user=alice) as client:
        watching = await client.subscribe(
            LiveItems.instance_observer, LiveItems.subscribe_instance, pk=mine.pk
        )
        with pytest.raises(ErrorReply) as refused:
            await client.subscribe(
                LiveItems.instance_observer, LiveItems.subscribe_instance, pk=theirs.pk
            )
        assert refused.value.status == 403
        mine.name = "oat milk"
        await db.run(mine.save)
        update = await watching.next()
        assert (update.action, update.status) == ("update", 200)
        assert update.data is not None
        assert update.data["name"] == "oat milk"
        pk = mine.pk
        await db.run(mine.delete)
        deleted = await watching.next()
        assert (deleted.action, deleted.status, deleted.pk) == ("delete", 204, pk)


@pytest.mark.django_db(transaction=True)
async def test_dashboard(alice: User) -> None:
    """The README's observers: one's own items by group, a signal, notify() and unfollow."""
    bob = await db.run(User.objects.create_user, "bob")
    async with ApiClient(Dashboard, user=alice) as client:
        mine = await client.subscribe(Dashboard.items.observer, Dashboard.follow_mine)
        news = await client.subscribe(Dashboard.news.observer, Dashboard.follow_news)
        milk = await db.run(Item.objects.create, name="milk", slug="milk", owner=alice)
        await db.run(Item.objects.create, name="eggs", slug="eggs", owner=bob)
        created = await mine.next()
        assert (created.action, created.data) == ("create", ItemOut(milk.pk, "milk", False))
        assert await mine.nothing()  # bob's item goes to bob's group

        assert await db.run(finish_all, alice) == [milk.pk]
        assert (await mine.next()).data == ItemOut(milk.pk, "milk", True)

        # django-stubs leave Signal.send partly unknown to pyright.
        await db.run(announced.send, sender=None, text="maintenance at noon")  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        assert (await news.next()).data == Announcement("maintenance at noon")

        await client.send({"action": "unfollow", "request_id": mine.request_id})
        assert (await client.reply_to(mine.request_id, action="unfollow"))["data"] is True
        await db.run(Item.objects.filter(pk=milk.pk).update, name="whole milk")
        await db.run(notify, Item, [milk.pk])
        assert await mine.nothing()


@pytest.mark.django_db(transaction=True)
async def test_item_list(alice: User) -> None:
    """The README's live query: one's own open items, then a row entering, changing and
    leaving the set; another user's items never come."""
    bob = await db.run(User.objects.create_user, "bob")
    milk = await db.run(Item.objects.create, name="milk", slug="milk", owner=alice)
    async with ApiClient(ItemList, user=alice) as client:
        todo = await client.subscribe_list(
            ItemList.list_observer, ItemList.subscribe_list, done=False
        )
        assert [row["name"] for row in todo.rows.values()] == ["milk"]
        eggs = await db.run(Item.objects.create, name="eggs", slug="eggs", owner=alice)
        await db.run(Item.objects.create, name="tea", slug="tea", owner=bob)
        milk.done = True
        await db.run(milk.save)
        events = await todo.settle()
        assert [(event.action, event.pk) for event in events] == [
            ("create", eggs.pk),
            ("delete", milk.pk),
        ]
        assert [row["name"] for row in todo.rows.values()] == ["eggs"]


@pytest.mark.django_db(transaction=True)
async def test_typed_rows_are_the_serializers_columns(alice: User) -> None:
    """The typed output lists the same columns as the serializer does, filtered by its own
    argument."""
    await Item.objects.acreate(name="milk", slug="milk", done=True)
    await Item.objects.acreate(name="eggs", slug="eggs")
    async with ApiClient(ItemRowsConsumer) as client:
        rows = await client.call(ItemRowsConsumer.rows)
        listed = await client.call(ItemRowsConsumer.list)
        done = await client.call(ItemRowsConsumer.rows, done=True)
    columns = ("id", "name", "done")
    assert rows.data == [{key: row[key] for key in columns} for row in listed.data]
    assert [row["name"] for row in done.data] == ["milk"]
