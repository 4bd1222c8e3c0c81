"""Resuming a list subscription after a reconnect: the changes missed come again (each row's
current state, or its delete), or the client is told to start again (410); never silence."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.consumers import LiveTasks
from tests.app.models import Task
from typed_dcrf import db
from typed_dcrf.testing import ApiClient, ErrorReply, LiveList

pytestmark = pytest.mark.django_db(transaction=True)


async def subscribe(client: ApiClient, **arguments: Any) -> LiveList[Any]:
    return await client.subscribe_list(
        LiveTasks.list_observer, LiveTasks.subscribe_list, seq=True, **arguments
    )


def save(pk: int, **fields: Any) -> None:
    task = Task.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(task, name, value)
    task.save()


async def fresh_list(client: ApiClient, **filters: Any) -> dict[Any, Any]:
    response = await client.call(LiveTasks.list, **filters)
    return {row["id"]: dict(row) for row in response.data}


@pytest.fixture(params=["memory", "redis"])
def layer(request: pytest.FixtureRequest) -> str:
    """The in-memory layer (a log in this process) or Redis (a log in Redis)."""
    if request.param == "redis":
        request.getfixturevalue("redis_layer")
    return str(request.param)


@pytest.mark.usefixtures("layer")
async def test_a_resumed_subscription_gets_what_it_missed() -> None:
    """Away, rows were made, changed, moved out and deleted: resuming with the last seq sends
    each one's state now (create for a row made since, update for one changed, delete for one
    gone), and the copy kept from before then equals a fresh list."""
    kept, changed, leaving, deleted = [
        await db.run(Task.objects.create, title=title, done=True)
        for title in ("kept", "changed", "leaving", "deleted")
    ]
    async with ApiClient(LiveTasks) as client:
        before = await subscribe(client, done=True)
        await db.run(save, kept.pk, title="kept, seen")
        await before.settle()
    deleted_pk = deleted.pk
    await db.run(save, changed.pk, title="changed away")
    await db.run(save, leaving.pk, done=False)
    await db.run(deleted.delete)
    made = await db.run(Task.objects.create, title="made", done=True)
    async with ApiClient(LiveTasks) as client:
        after = await subscribe(client, done=True, since=before.seq)
        assert after.reply.resumed
        after.rows.update(before.rows)
        events = {event.pk: event.action for event in await after.settle()}
        assert events == {
            kept.pk: "update",  # changed within the overlap before the seq: sent again
            changed.pk: "update",
            leaving.pk: "delete",
            deleted_pk: "delete",
            made.pk: "create",
        }
        assert {pk: dict(row) for pk, row in after.rows.items()} == await fresh_list(
            client, done=True
        )
        await db.run(save, made.pk, done=False)
        assert [(event.action, event.pk) for event in await after.settle()] == [("delete", made.pk)]


async def test_a_seq_the_log_no_longer_covers_is_410() -> None:
    """More changes than the log keeps since the seq: 410, subscribe again."""
    task = await db.run(Task.objects.create, title="t")

    class Short(LiveTasks):
        resume_log_size = 3

    async with ApiClient(Short) as client:
        live = await client.subscribe_list(Short.list_observer, Short.subscribe_list, seq=True)
        seq = live.seq
    for n in range(5):
        await db.run(save, task.pk, rank=n)
    async with ApiClient(Short) as client:
        with pytest.raises(ErrorReply) as gone:
            await client.subscribe_list(
                Short.list_observer, Short.subscribe_list, since=seq - 10**7
            )
        assert gone.value.status == 410
        assert "subscribe again" in str(gone.value.errors)


@pytest.mark.parametrize("since", [10**17, -1], ids=["past the clock", "before the log"])
async def test_a_seq_this_layer_never_gave_is_410(since: int) -> None:
    """A seq the clock has not reached, or one before what the log still holds, cannot be
    resumed."""

    class Tiny(LiveTasks):
        resume_log_size = 1

    async with ApiClient(Tiny) as client:
        await client.subscribe_list(Tiny.list_observer, Tiny.subscribe_list)
        for n in range(3):
            await db.run(Task.objects.create, title=f"u{n}")
        with pytest.raises(ErrorReply) as gone:
            await client.subscribe_list(Tiny.list_observer, Tiny.subscribe_list, since=since)
        assert gone.value.status == 410


async def test_without_a_log_resuming_is_410() -> None:
    """resume_log_size = 0: nothing is kept, and resuming is refused rather than silent."""

    class Unlogged(LiveTasks):
        resume_log_size = 0

    async with ApiClient(Unlogged) as client:
        live = await client.subscribe_list(Unlogged.list_observer, Unlogged.subscribe_list)
        with pytest.raises(ErrorReply) as gone:
            await client.subscribe_list(
                Unlogged.list_observer, Unlogged.subscribe_list, since=live.seq
            )
        assert gone.value.status == 410
