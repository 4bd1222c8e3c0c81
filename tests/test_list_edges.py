"""List subscriptions at their edges: ending or replacing one while it is set up, querysets it
cannot take, a cancelled asker of a shared query, big resumes, rows a resume must not name, and
the log's marks."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from tests.app.consumers import LiveTasks
from tests.app.models import Task
from typed_dcrf import ActionContext, AsyncAPIConsumer, BasePermission, db
from typed_dcrf import _matching as matching
from typed_dcrf._changelog import MemoryChangelog, _client  # pyright: ignore[reportPrivateUsage]
from typed_dcrf._matching import Fallbacks
from typed_dcrf.testing import ApiClient, ErrorReply

pytestmark = pytest.mark.django_db(transaction=True)


def save(pk: int, **fields: Any) -> None:
    task = Task.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(task, name, value)
    task.save()


class HeldPages(LiveTasks):
    """Each snapshot page waits for ``gate`` before it goes out (a slow network): meanwhile the
    connection serves other frames and hears of changes."""

    gate: asyncio.Event

    async def send_envelope(self, text: str) -> None:
        if '"response_status":206' in text:
            await HeldPages.gate.wait()
        await super().send_envelope(text)


async def test_ending_or_replacing_a_subscription_while_it_is_set_up() -> None:
    """While its snapshot is sent: the same request_id again is a 400; unsubscribe_list is a
    204, the snapshot stops after the page on its way, subscribe_list answers 404, and
    nothing follows."""
    tasks = await db.run(lambda: [Task.objects.create(title=f"t{n}") for n in range(3)])
    HeldPages.gate = asyncio.Event()
    async with ApiClient(HeldPages) as client:
        await client.send({"action": "subscribe_list", "request_id": "r", "page_size": 1})
        await asyncio.sleep(0.1)
        await client.send({"action": "subscribe_list", "request_id": "r"})
        assert (await client.reply_to("r"))["response_status"] == 400
        await client.send({"action": "unsubscribe_list", "request_id": "r"})
        assert (await client.reply_to("r", action="unsubscribe_list"))["response_status"] == 204
        HeldPages.gate.set()
        frames = [await client.reply_to("r", action="subscribe_list") for _ in range(2)]
        assert [frame["response_status"] for frame in frames] == [206, 404]
        await db.run(save, tasks[0].pk, title="changed")
        assert await client.nothing_for("r")


class Unions(LiveTasks):
    def get_queryset(self) -> Any:
        return Task.objects.filter(done=True).union(Task.objects.filter(rank=1))


async def test_a_queryset_that_cannot_be_filtered_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A union (or a slice) cannot be matched: subscribing is a 500, with the fix logged."""
    async with ApiClient(Unions) as client:
        with pytest.raises(ErrorReply) as refused:
            await client.subscribe_list(Unions.list_observer, Unions.subscribe_list)
    assert refused.value.status == 500
    assert "must be one that can be filtered" in caplog.text


async def test_a_cancelled_asker_stops_no_other_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subscription that asked first is cancelled (its client gone) while the query runs:
    the query goes on, once, and the others get its answer."""
    release = threading.Event()
    calls: list[object] = []

    def slow(model: Any, using: str, pk: object, querysets: dict[str, Any]) -> dict[str, bool]:
        calls.append(pk)
        release.wait(5)
        return dict.fromkeys(querysets, True)

    monkeypatch.setattr(matching, "_membership", slow)
    shared = Fallbacks()
    queryset = Task.objects.filter(title__contains="mi")
    shared.add(queryset, "k")
    first = asyncio.create_task(shared.contains(queryset, "k", ("g", 1), 1))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(shared.contains(queryset, "k", ("g", 1), 1))
    await asyncio.sleep(0.05)
    first.cancel()
    release.set()
    assert await asyncio.wait_for(second, 5) is True
    assert calls == [1]


@override_settings(TYPED_DCRF={"MAX_OUTGOING_EVENTS": 2})
async def test_rows_made_outside_the_set_while_it_is_read_do_not_wait() -> None:
    """Rows created outside the set during a snapshot send nothing and take no room: the slow
    client bound is not reached."""
    await db.run(lambda: [Task.objects.create(title=f"t{n}", done=True) for n in range(3)])
    HeldPages.gate = asyncio.Event()
    async with ApiClient(HeldPages) as client:
        await client.send(
            {"action": "subscribe_list", "request_id": "r", "page_size": 1, "done": True}
        )
        await asyncio.sleep(0.1)
        for n in range(5):
            await db.run(Task.objects.create, title=f"other {n}")
        HeldPages.gate.set()
        frames = [await client.reply_to("r") for _ in range(5)]
        assert [frame["response_status"] for frame in frames] == [206, 206, 206, 206, 201]
        assert await client.nothing_for("r")


@override_settings(TYPED_DCRF={"MAX_OUTGOING_EVENTS": 3})
async def test_a_resume_larger_than_the_outgoing_bound_is_sent() -> None:
    """A resume's rows are part of its reply, sent as pages are: more of them than
    MAX_OUTGOING_EVENTS do not close the client."""
    async with ApiClient(LiveTasks) as client:
        live = await client.subscribe_list(LiveTasks.list_observer, LiveTasks.subscribe_list)
        seq = live.reply.seq
    await db.run(lambda: [Task.objects.create(title=f"t{n}") for n in range(8)])
    async with ApiClient(LiveTasks) as client:
        again = await client.subscribe_list(
            LiveTasks.list_observer, LiveTasks.subscribe_list, since=seq
        )
        assert [event.action for event in await again.settle()] == ["create"] * 8


class OwnersOnly(BasePermission):
    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Task
    ) -> bool:
        return obj.owner_id == context.user.pk


class OwnTasks(LiveTasks):
    permission_classes = (OwnersOnly,)


async def test_a_resume_never_names_a_row_the_subscriber_may_not_see() -> None:
    """Rows the object permissions hide, changed or deleted since, are not named by the
    resume's deletes; the subscriber's own are."""
    alice = await db.run(User.objects.create, username="alice")
    bob = await db.run(User.objects.create, username="bob")
    mine = await db.run(Task.objects.create, title="mine", owner=alice)
    async with ApiClient(OwnTasks, user=alice) as client:
        live = await client.subscribe_list(
            OwnTasks.list_observer, OwnTasks.subscribe_list, seq=True
        )
        seq = live.seq
    theirs = await db.run(Task.objects.create, title="theirs", owner=bob)
    await db.run(save, theirs.pk, title="theirs, changed")
    await db.run(Task.objects.filter(pk=theirs.pk).delete)
    await db.run(Task.objects.filter(pk=mine.pk).delete)
    async with ApiClient(OwnTasks, user=alice) as client:
        again = await client.subscribe_list(
            OwnTasks.list_observer, OwnTasks.subscribe_list, since=seq
        )
        assert [(event.action, event.pk) for event in await again.settle()] == [("delete", mine.pk)]


async def test_unsubscribing_one_kind_leaves_the_other() -> None:
    """unsubscribe_list of an instance subscription's request_id, and unsubscribe_instance of
    a list subscription's, are 404s: one observer serves both kinds."""
    task = await db.run(Task.objects.create, title="t")
    async with ApiClient(LiveTasks) as client:
        await client.subscribe(
            LiveTasks.instance_observer, LiveTasks.subscribe_instance, pk=task.pk
        )
        await client.send({"action": "unsubscribe_list", "request_id": "subscription-1"})
        assert (await client.reply_to("subscription-1"))["response_status"] == 404
        live = await client.subscribe_list(LiveTasks.list_observer, LiveTasks.subscribe_list)
        await client.send(
            {"action": "unsubscribe_instance", "request_id": live.request_id, "pk": task.pk}
        )
        assert (await client.reply_to(live.request_id))["response_status"] == 404


def test_a_late_change_inside_the_overlap_that_was_dropped_is_a_410() -> None:
    """A change logged after the log was trimmed past it (another process's, late) falls in a
    resume's overlap: the resume cannot send it, and says so."""
    log = MemoryChangelog()
    log.keep("list")
    versions = [log.next_version() for _ in range(4)]
    for version in versions[1:]:
        log.append("list", version, {"version": version}, size=2)
    log.append("list", versions[0], {"version": versions[0]}, size=2)  # late
    assert log.since("list", versions[3]) == []
    assert log.since("list", versions[3], overlap=versions[3] - versions[0] + 1) is None


def test_a_sentinel_host_gives_a_client_of_its_master() -> None:
    """channels-redis's Sentinel hosts entry ({"master_name", "sentinels"}) is understood."""
    client = _client({"master_name": "main", "sentinels": [("127.0.0.1", 26379)], "db": 0})
    assert type(client).__name__ == "Redis"
