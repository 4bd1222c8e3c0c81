"""List subscriptions: the snapshot's pages and reply, rows entering, changing and leaving the
set, filters matched in memory and by the database, and ending a subscription."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from tests.app.consumers import LiveTasks
from tests.app.models import Task
from tests.frames import envelope
from typed_dcrf import db
from typed_dcrf.testing import ApiClient, ErrorReply, LiveList
from typed_dcrf.types import JSONObject

pytestmark = pytest.mark.django_db(transaction=True)

Rows = LiveList[Any]


def task_row(task: Task) -> JSONObject:
    return {
        "id": task.pk,
        "title": task.title,
        "done": task.done,
        "rank": task.rank,
        "owner": task.owner_id,
    }


async def fresh_list(client: ApiClient, **filters: Any) -> dict[Any, Any]:
    """What ``list`` with the same arguments answers now, by primary key."""
    response = await client.call(LiveTasks.list, **filters)
    return {row["id"]: dict(row) for row in response.data}


async def copy_of(live: Rows) -> dict[Any, Any]:
    await live.settle()
    return {pk: dict(row) for pk, row in live.rows.items()}


async def subscribe(client: ApiClient, **filters: Any) -> Rows:
    return await client.subscribe_list(LiveTasks.list_observer, LiveTasks.subscribe_list, **filters)


async def make(title: str, **fields: Any) -> Task:
    return await db.run(Task.objects.create, title=title, **fields)


async def change(task: Task, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(task, name, value)
    await db.run(task.save)


async def test_the_snapshot_comes_in_pages_then_the_reply() -> None:
    """subscribe_list sends the set as 206 pages by primary key, then 201 {count, seq, key,
    resumed}, all with the request_id."""
    tasks = [await make(f"t{n}", rank=n) for n in range(5)]
    async with ApiClient(LiveTasks) as client:
        await client.send(
            {"action": "subscribe_list", "request_id": 3, "min_rank": 1, "page_size": 2}
        )
        pages = [await client.receive() for _ in range(2)]
        assert pages == [
            envelope(
                "subscribe_list",
                206,
                data={
                    "results": [task_row(task) for task in tasks[1 + 2 * n : 3 + 2 * n]],
                    "count": 4,
                    "limit": 2,
                    "offset": 2 * n,
                },
                request_id=3,
            )
            for n in range(2)
        ]
        last_page = await client.receive()
        assert last_page["response_status"] == 206
        assert last_page["data"] == {"results": [], "count": 4, "limit": 2, "offset": 4}
        reply = await client.receive()
        assert reply["response_status"] == 201
        assert reply["request_id"] == 3
        data = reply["data"]
        assert isinstance(data, dict)
        assert data["count"] == 4
        assert data["key"] == "id"
        assert data["resumed"] is False
        assert isinstance(data["seq"], int)


async def test_rows_enter_change_and_leave_as_create_update_delete() -> None:
    """A row that starts matching is a create, one that changes an update, one that stops
    matching or is deleted a delete {pk}; the copy equals a fresh list after each."""
    inside = await make("in", done=True)
    outside = await make("out")
    async with ApiClient(LiveTasks) as client:
        live = await client.subscribe_list(
            LiveTasks.list_observer, LiveTasks.subscribe_list, done=True
        )
        assert set(live.rows) == {inside.pk}
        await change(outside, done=True)
        [entered] = await live.settle()
        assert (entered.action, entered.status, entered.pk) == ("create", 200, outside.pk)
        await change(inside, title="still in")
        [changed] = await live.settle()
        assert (changed.action, changed.pk) == ("update", inside.pk)
        await change(inside, done=False)
        [left] = await live.settle()
        assert (left.action, left.status, left.data, left.pk) == ("delete", 204, None, inside.pk)
        outside_pk = outside.pk
        await db.run(outside.delete)
        [deleted] = await live.settle()
        assert (deleted.action, deleted.pk) == ("delete", outside_pk)
        assert await copy_of(live) == await fresh_list(client, done=True) == {}


async def test_changes_outside_the_set_and_saves_that_change_nothing_send_nothing() -> None:
    """A row that neither was nor is in the set, and a save that leaves a row as it was, send
    no event."""
    inside = await make("in", done=True)
    outside = await make("out")
    async with ApiClient(LiveTasks) as client:
        live = await client.subscribe_list(
            LiveTasks.list_observer, LiveTasks.subscribe_list, done=True
        )
        await change(outside, title="still out")
        await change(inside)
        assert await live.settle() == []


async def test_a_filter_the_database_decides_gets_the_same_events() -> None:
    """title_has (a text pattern) is matched by a query per event: rows enter and leave."""
    milk = await make("milk")
    async with ApiClient(LiveTasks) as client:
        live = await subscribe(client, title_has="mi")
        assert set(live.rows) == {milk.pk}
        mint = await make("mint")
        await change(milk, title="oat")
        events = await live.settle()
        assert [(event.action, event.pk) for event in events] == [
            ("create", mint.pk),
            ("delete", milk.pk),
        ]
        assert await copy_of(live) == await fresh_list(client, title_has="mi")


async def test_subscriptions_of_one_connection_each_get_their_events() -> None:
    """Two list subscriptions with different filters, and an instance subscription, on one
    connection each receive their own events."""
    task = await make("t", rank=5)
    async with ApiClient(LiveTasks) as client:
        high = await subscribe(client, min_rank=3)
        done = await client.subscribe_list(
            LiveTasks.list_observer, LiveTasks.subscribe_list, done=True
        )
        await change(task, done=True, rank=1)
        assert [(e.action, e.pk) for e in await high.settle()] == [("delete", task.pk)]
        assert [(e.action, e.pk) for e in await done.settle()] == [("create", task.pk)]


async def test_seq_adds_the_version_to_each_event_and_only_when_asked() -> None:
    """seq: true adds a sixth key, "seq", increasing from the reply's; without it, events keep
    DCRF's five keys."""
    task = await make("t")
    async with ApiClient(LiveTasks) as client:
        await client.send({"action": "subscribe_list", "request_id": "plain"})
        await client.send({"action": "subscribe_list", "request_id": "seq", "seq": True})
        replies: dict[Any, Any] = {}
        for _ in range(4):
            frame = await client.receive()
            if frame["response_status"] == 201:
                replies[frame["request_id"]] = frame["data"]
        await change(task, title="u")
        frames: dict[Any, Any] = {}
        for _ in range(2):
            frame = await client.receive()
            frames[frame["request_id"]] = frame
        assert set(frames["plain"]) == {"errors", "data", "action", "response_status", "request_id"}
        assert frames["seq"]["seq"] > replies["seq"]["seq"]


async def test_unsubscribe_list_ends_it() -> None:
    """unsubscribe_list with the request_id → 204, and no more events; again → 404."""
    task = await make("t")
    async with ApiClient(LiveTasks) as client:
        live = await subscribe(client)
        await live.unsubscribe()
        await change(task, title="u")
        assert await client.nothing_for(live.request_id)
        with pytest.raises(ErrorReply) as refused:
            await live.unsubscribe()
        assert refused.value.status == 404


async def test_subscribe_list_needs_a_request_id_and_valid_filters() -> None:
    """Without a request_id → 400; a filter of the wrong type → 400 naming it, as list."""
    async with ApiClient(LiveTasks) as client:
        await client.send({"action": "subscribe_list"})
        reply = await client.receive()
        assert reply["response_status"] == 400
        await client.send({"action": "subscribe_list", "request_id": 1, "min_rank": "big"})
        reply = await client.receive()
        assert reply["response_status"] == 400
        assert "min_rank" in str(reply["errors"])


async def test_a_per_user_queryset_is_the_set() -> None:
    """get_queryset() per user scopes the set: another user's rows never arrive."""
    alice = await db.run(User.objects.create, username="alice")
    bob = await db.run(User.objects.create, username="bob")

    class Mine(LiveTasks):
        def get_queryset(self) -> Any:
            return Task.objects.filter(owner_id=self.user.pk)

    async with ApiClient(Mine, user=alice) as client:
        live = await client.subscribe_list(Mine.list_observer, Mine.subscribe_list)
        mine = await make("mine", owner=alice)
        await make("theirs", owner=bob)
        assert [(e.action, e.pk) for e in await live.settle()] == [("create", mine.pk)]


async def test_a_set_that_is_always_empty_is_a_subscription_too() -> None:
    """A filter_list that returns .none() gives an empty snapshot and no events."""

    class Nothing(LiveTasks):
        def get_queryset(self) -> Any:
            return Task.objects.none()

    async with ApiClient(Nothing) as client:
        live = await client.subscribe_list(Nothing.list_observer, Nothing.subscribe_list)
        assert live.rows == {}
        await make("t")
        assert await live.settle() == []


class Titles(LiveTasks):
    """Events (and so snapshots) of its own making."""

    @classmethod
    def event_data(cls, instance: Task) -> Any:
        return {"id": instance.pk, "title": instance.title.upper()}


async def test_the_snapshot_rows_are_the_events_data() -> None:
    """Snapshot rows are made as events are: by event_data, overridden or not (the default
    serializes a page's rows with one serializer)."""
    task = await make("milk")
    async with ApiClient(LiveTasks) as client:
        live = await subscribe(client)
        assert dict(live.rows[task.pk]) == task_row(task)
    async with ApiClient(Titles) as client:
        live = await client.subscribe_list(Titles.list_observer, Titles.subscribe_list)
        assert dict(live.rows[task.pk]) == {"id": task.pk, "title": "MILK"}
        await change(task, title="oat milk")
        [event] = await live.settle()
        assert dict(live.rows[task.pk]) == {"id": task.pk, "title": "OAT MILK"}
        assert event.action == "update"


@override_settings(TYPED_DCRF={"MAX_SUBSCRIPTIONS": 2})
async def test_list_subscriptions_count_against_the_connections_cap() -> None:
    """A list subscription is one of MAX_SUBSCRIPTIONS: past the cap, a 429 naming it; the
    request_id of one in use replaces it."""
    task = await make("t")
    async with ApiClient(LiveTasks) as client:
        await client.subscribe(
            LiveTasks.instance_observer, LiveTasks.subscribe_instance, pk=task.pk
        )
        first = await subscribe(client)
        with pytest.raises(ErrorReply) as refused:
            await subscribe(client, done=True)
        assert refused.value.status == 429
        assert "at most 2 subscriptions" in str(refused.value.errors)
        await client.send(
            {"action": "subscribe_list", "request_id": first.request_id, "done": True}
        )
        frames = [await client.reply_to(first.request_id) for _ in range(2)]
        assert [frame["response_status"] for frame in frames] == [206, 201]
