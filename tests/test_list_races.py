"""List subscriptions against changes racing their snapshot, and what an event costs: changes
committed while the snapshot is read are neither lost nor sent twice, and an event costs no
query per subscriber."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from django.test import override_settings

from tests.app.consumers import LiveTasks
from tests.app.models import Task
from tests.queries import database_thread_queries
from typed_dcrf import _matching as matching
from typed_dcrf import db
from typed_dcrf._changelog import changelog
from typed_dcrf.testing import ApiClient, ErrorReply, LiveList

pytestmark = pytest.mark.django_db(transaction=True)


async def fresh_list(client: ApiClient, **filters: Any) -> dict[Any, Any]:
    response = await client.call(LiveTasks.list, **filters)
    return {row["id"]: dict(row) for row in response.data}


def copy(live: LiveList[Any]) -> dict[Any, Any]:
    return {pk: dict(row) for pk, row in live.rows.items()}


def save(pk: int, **fields: Any) -> None:
    task = Task.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(task, name, value)
    task.save()


def after_the_snapshot_version(monkeypatch: pytest.MonkeyPatch, work: Callable[[], object]) -> None:
    """Run ``work`` (committing a change) once, right after the snapshot has taken its version
    and before it reads the rows."""
    clock = changelog()
    taken = clock.next_version
    armed = [work]

    def version_then_work() -> int:
        version = taken()
        if armed:
            armed.pop()()
        return version

    monkeypatch.setattr(clock, "next_version", version_then_work)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"title": "renamed"}, "renamed"), ({"done": False}, None)],
    ids=["changed", "left"],
)
async def test_a_change_between_the_version_and_the_read_is_sent_once(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], expected: str | None
) -> None:
    """A change committed after the snapshot's version is taken and before its rows are read
    is in the snapshot; its event, which follows, sends nothing more."""
    task = await db.run(Task.objects.create, title="t", done=True)
    async with ApiClient(LiveTasks) as client:
        after_the_snapshot_version(monkeypatch, lambda: save(task.pk, **fields))
        live = await client.subscribe_list(
            LiveTasks.list_observer, LiveTasks.subscribe_list, done=True
        )
        titles = {pk: row["title"] for pk, row in live.rows.items()}
        assert titles == ({} if expected is None else {task.pk: expected})
        assert await live.settle() == []
        assert copy(live) == await fresh_list(client, done=True)


async def test_a_row_made_between_the_version_and_the_read_comes_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A row created in that window is in the snapshot, and its create event sends nothing."""
    async with ApiClient(LiveTasks) as client:
        after_the_snapshot_version(monkeypatch, lambda: Task.objects.create(title="new"))
        live = await client.subscribe_list(LiveTasks.list_observer, LiveTasks.subscribe_list)
        assert [row["title"] for row in live.rows.values()] == ["new"]
        assert await live.settle() == []


class ChangedWhileRead(LiveTasks):
    """Commits a change of every row it reads into a snapshot, after the read."""

    def _may_see(self, row: Any) -> bool:
        if row.title == "t":
            save(row.pk, title="changed after the read")
        return super()._may_see(row)


async def test_a_change_after_the_read_arrives_after_the_reply() -> None:
    """A change committed after the rows were read, before the reply, waits for the reply and
    then arrives as an update: the copy ends equal to a fresh list."""
    task = await db.run(Task.objects.create, title="t")
    async with ApiClient(ChangedWhileRead) as client:
        live = await client.subscribe_list(
            ChangedWhileRead.list_observer, ChangedWhileRead.subscribe_list
        )
        assert live.rows[task.pk]["title"] == "t"
        [event] = await live.settle()
        assert (event.action, event.pk) == ("update", task.pk)
        assert copy(live) == await fresh_list(client)


class ChangedWhilePaging(LiveTasks):
    """Before reading each page after the first, moves rows in and out of the set and changes
    rows already sent and rows still to come."""

    def _snapshot_page(self, live: Any, after: object, size: int) -> Any:
        if after is not None:
            for task in Task.objects.filter(rank__lt=100).order_by("?")[:3]:
                save(task.pk, rank=task.rank + 100, title=f"{task.title}+")
            Task.objects.create(title="new", rank=1)
        return super()._snapshot_page(live, after, size)


async def test_changes_while_the_pages_are_read_come_after_the_reply_each_once() -> None:
    """Rows changed, moved in and out and created between the pages of a long snapshot: the
    events wait for the reply (an event before it would fail the reply's parsing), none is a
    create of a held row or an update of a missing one, and the copy equals a fresh list."""
    await db.run(lambda: [Task.objects.create(title=f"t{n}", rank=n) for n in range(12)])
    async with ApiClient(ChangedWhilePaging) as client:
        live = await client.subscribe_list(
            ChangedWhilePaging.list_observer,
            ChangedWhilePaging.subscribe_list,
            min_rank=5,
            page_size=2,
        )
        await live.settle()
        assert copy(live) == await fresh_list(client, min_rank=5)


@pytest.mark.parametrize("subscribers", [1, 10, 100])
@pytest.mark.parametrize("in_memory", [True, False], ids=["in memory", "by the database"])
async def test_an_event_costs_no_query_per_subscriber(subscribers: int, in_memory: bool) -> None:
    """One change reaches 1, 10 or 100 list subscriptions: in memory, the save and one read of
    the row at commit; with a filter the database decides, one query more, whatever the
    number of subscribers."""
    task = await db.run(Task.objects.create, title="milk", rank=5)
    filters: dict[str, Any] = {"min_rank": 1} if in_memory else {"title_has": "mi"}
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(ApiClient(LiveTasks)) for _ in range(subscribers)
        ]
        lives = [
            await client.subscribe_list(
                LiveTasks.list_observer, LiveTasks.subscribe_list, **filters
            )
            for client in clients
        ]
        async with database_thread_queries() as statements:
            await db.run(save, task.pk, rank=6)
            events = await asyncio.gather(*(live.next() for live in lives))
    assert {(event.action, event.pk) for event in events} == {("update", task.pk)}
    keywords = [sql.split()[0] for sql in statements]
    expected = ["SELECT", "UPDATE", "SELECT"] + ([] if in_memory else ["SELECT"])
    assert keywords == expected


class HeldEvents(LiveTasks):
    """Holds its list events while ``Gate`` is shut, as a server does for a client that does
    not read."""

    gate: asyncio.Event

    async def send_envelope(self, text: str) -> None:
        if '"action":"update"' in text:
            await HeldEvents.gate.wait()
        await super().send_envelope(text)


@override_settings(TYPED_DCRF={"MAX_OUTGOING_EVENTS": 3})
async def test_a_slow_list_client_gets_every_event_in_order_then_4429() -> None:
    """A list's events are never coalesced (that could reorder them): a client holding up
    three keeps every one, in order; one more, and it is closed with 4429."""
    task = await db.run(Task.objects.create, title="0")
    HeldEvents.gate = asyncio.Event()
    async with ApiClient(HeldEvents) as client:
        live = await client.subscribe_list(HeldEvents.list_observer, HeldEvents.subscribe_list)
        for number in range(1, 4):  # one on its way, three waiting
            await db.run(save, task.pk, title=str(number))
        await asyncio.sleep(0.2)
        HeldEvents.gate.set()
        events = [await live.next() for _ in range(3)]
        assert [event.data["title"] if event.data else None for event in events] == ["1", "2", "3"]
        HeldEvents.gate.clear()
        for number in range(4, 9):
            await db.run(save, task.pk, title=str(number))
        await asyncio.sleep(0.2)
        HeldEvents.gate.set()
        closed = await client.communicator.receive_output(1)
        while closed["type"] == "websocket.send":
            closed = await client.communicator.receive_output(1)
        assert closed == {"type": "websocket.close", "code": 4429}


async def test_a_row_changed_then_deleted_at_once_is_one_delete() -> None:
    """The database decides (title_has) after the row is gone: its update is the delete, and
    the delete that follows sends nothing more."""
    task = await db.run(Task.objects.create, title="milk")
    async with ApiClient(LiveTasks) as client:
        live = await client.subscribe_list(
            LiveTasks.list_observer, LiveTasks.subscribe_list, title_has="mi"
        )
        pk = task.pk

        def change_then_delete() -> None:
            save(pk, title="mint")
            Task.objects.filter(pk=pk).delete()

        await db.run(change_then_delete)
        assert [(event.action, event.pk) for event in await live.settle()] == [("delete", pk)]


async def test_a_failing_membership_query_ends_the_subscription_with_a_500(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The query that decides membership fails: the client's copy can no longer be trusted,
    so the subscription ends with a masked 500 frame (logged); the connection and its other
    subscriptions go on."""
    task = await db.run(Task.objects.create, title="milk")

    def failing(*args: Any) -> Any:
        raise RuntimeError("the database is away")

    async with ApiClient(LiveTasks) as client:
        by_database = await client.subscribe_list(
            LiveTasks.list_observer, LiveTasks.subscribe_list, title_has="mi"
        )
        in_memory = await client.subscribe_list(LiveTasks.list_observer, LiveTasks.subscribe_list)
        monkeypatch.setattr(matching, "_membership", failing)
        await db.run(save, task.pk, title="mild")
        with pytest.raises(ErrorReply) as ended:
            await by_database.next()
        assert (ended.value.status, ended.value.errors) == (500, ["A server error occurred."])
        [event] = await in_memory.settle()
        assert event.action == "update"
        await db.run(save, task.pk, title="milder")
        assert await client.nothing_for(by_database.request_id)
        assert [e.action for e in await in_memory.settle()] == ["update"]
    assert "the database is away" in caplog.text


@override_settings(TYPED_DCRF={"MAX_OUTGOING_EVENTS": 2})
async def test_too_many_changes_while_the_snapshot_is_read_close_with_4429() -> None:
    """Events wait for the snapshot's reply in the same bound: past it, the slow-client close."""
    await db.run(lambda: [Task.objects.create(title=f"t{n}", rank=n) for n in range(12)])
    async with ApiClient(ChangedWhilePaging) as client:
        await client.send({"action": "subscribe_list", "request_id": "r", "page_size": 2})
        message = await client.communicator.receive_output(5)
        while message["type"] == "websocket.send":
            message = await client.communicator.receive_output(5)
    assert message == {"type": "websocket.close", "code": 4429}
