"""Execution: async actions on the connection, sync ones in the DB thread, detached tasks."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connection
from django.test import override_settings

from tests.app.models import Note
from tests.gates import Gates, held
from typed_dcrf import AsyncAPIConsumer, Response, action, db
from typed_dcrf.testing import ApiClient


class WorkConsumer(AsyncAPIConsumer):
    @action
    async def loop_thread(self) -> Response[int]:
        return Response.ok(threading.get_ident())

    @action
    def db_thread(self) -> Response[int]:
        return Response.ok(threading.get_ident())

    @action
    def in_transaction(self) -> Response[bool]:
        return Response.ok(connection.in_atomic_block)

    @action(atomic=True)
    def create_then_fail(self, text: str) -> Response[None]:
        Note.objects.create(text=text)
        raise RuntimeError("roll back")

    @action(atomic=False)
    def create_without_transaction(self, text: str) -> Response[None]:
        Note.objects.create(text=text)
        raise RuntimeError("no rollback")

    @action
    def create(self, text: str) -> Response[int]:
        return Response.created(Note.objects.create(text=text).pk)

    @action
    async def slow(self, label: str) -> Response[str]:
        await asyncio.sleep(0.05)
        return Response.ok(label)

    @action
    async def fast(self, label: str) -> Response[str]:
        return Response.ok(label)

    @action(detached=True)
    async def background(self, label: str) -> Response[str]:
        return Response.ok(await held(label))


@pytest.fixture(autouse=True)
def fresh_gates() -> None:
    Gates.reset()


@pytest.mark.django_db(transaction=True)
async def test_sync_actions_run_in_the_db_thread() -> None:
    """A sync action runs off the event loop's thread; an async action runs on it."""
    async with ApiClient(WorkConsumer) as client:
        loop_ident = (await client.call(WorkConsumer.loop_thread)).data
        db_ident = (await client.call(WorkConsumer.db_thread)).data
    assert loop_ident == threading.get_ident()
    assert db_ident != loop_ident


@pytest.mark.parametrize(
    ("name", "kept"), [("create_then_fail", False), ("create_without_transaction", True)]
)
@pytest.mark.django_db(transaction=True)
async def test_atomic_decides_whether_a_failure_rolls_back(name: str, kept: bool) -> None:
    """atomic=True rolls back the writes of a failing action; atomic=False keeps them."""
    async with ApiClient(WorkConsumer) as client:
        await client.send({"action": name, "text": name})
        assert (await client.receive())["response_status"] == 500
    assert await db.run(Note.objects.filter(text=name).exists) is kept


@pytest.mark.django_db(transaction=True)
async def test_atomic_defaults_to_atomic_requests() -> None:
    """Without atomic=, a sync action is atomic exactly when ATOMIC_REQUESTS is set."""
    async with ApiClient(WorkConsumer) as client:
        assert (await client.call(WorkConsumer.in_transaction)).data is False
        connection.settings_dict["ATOMIC_REQUESTS"] = True
        try:
            assert (await client.call(WorkConsumer.in_transaction)).data is True
        finally:
            connection.settings_dict["ATOMIC_REQUESTS"] = False


@pytest.mark.django_db(transaction=True)
async def test_sync_action_writes_are_committed() -> None:
    """A sync action's writes are visible to the next call."""
    async with ApiClient(WorkConsumer) as client:
        reply = await client.call(WorkConsumer.create, text="hello")
    assert reply.status == 201
    note = await db.run(Note.objects.get, pk=reply.data)
    assert note.text == "hello"


async def test_actions_of_one_connection_answer_in_order() -> None:
    """Non-detached actions of one connection run one after another, in arrival order."""
    async with ApiClient(WorkConsumer) as client:
        await client.send({"action": "slow", "label": "first", "request_id": 1})
        await client.send({"action": "fast", "label": "second", "request_id": 2})
        assert (await client.receive())["request_id"] == 1
        assert (await client.receive())["request_id"] == 2


async def test_detached_action_lets_the_connection_keep_serving() -> None:
    """A detached action replies when done while later frames are answered meanwhile."""
    async with ApiClient(WorkConsumer) as client:
        await client.send({"action": "background", "label": "bg", "request_id": "bg"})
        await asyncio.wait_for(Gates.started.wait(), 1)
        fast = await client.call(WorkConsumer.fast, label="now")
        assert fast.data == "now"
        Gates.release.set()
        reply = await client.receive()
    assert reply == {
        "errors": [],
        "data": "bg",
        "action": "background",
        "response_status": 200,
        "request_id": "bg",
    }


async def test_detached_actions_are_cancelled_on_disconnect() -> None:
    """Every detached action still running is cancelled when the client disconnects."""
    async with ApiClient(WorkConsumer) as client:
        for label in ("a", "b"):
            await client.send({"action": "background", "label": label})
        await asyncio.wait_for(Gates.started.wait(), 1)
        await asyncio.sleep(0.01)
    assert sorted(Gates.cancelled) == ["a", "b"]


@override_settings(TYPED_DCRF={"MAX_DETACHED_ACTIONS": 1})
async def test_detached_actions_beyond_the_limit_are_429() -> None:
    """More concurrent detached actions than MAX_DETACHED_ACTIONS are refused with a 429."""
    async with ApiClient(WorkConsumer) as client:
        await client.send({"action": "background", "label": "a", "request_id": 1})
        await asyncio.wait_for(Gates.started.wait(), 1)
        await client.send({"action": "background", "label": "b", "request_id": 2})
        refused = await client.receive()
        assert refused["response_status"] == 429
        assert refused["request_id"] == 2
        Gates.release.set()
        assert (await client.receive())["data"] == "a"


db_gate = threading.Event()


class SharedThreadConsumer(AsyncAPIConsumer):
    @action
    def hold_db_thread(self) -> Response[bool]:
        return Response.ok(db_gate.wait(timeout=5))

    @action
    def sync_ping(self) -> Response[str]:
        return Response.ok("sync")

    @action
    async def async_ping(self) -> Response[str]:
        return Response.ok("async")


@pytest.mark.django_db(transaction=True)
async def test_a_slow_sync_action_holds_up_other_connections_sync_actions_only() -> None:
    """All connections share one DB thread: sync actions wait for it, async ones do not."""
    db_gate.clear()
    async with (
        ApiClient(SharedThreadConsumer) as slow,
        ApiClient(SharedThreadConsumer) as sync_client,
        ApiClient(SharedThreadConsumer) as async_client,
    ):
        await slow.send({"action": "hold_db_thread"})
        await sync_client.send({"action": "sync_ping"})
        assert (await async_client.call(SharedThreadConsumer.async_ping)).data == "async"
        assert await sync_client.receive_nothing(0.1)
        db_gate.set()
        assert (await slow.receive())["data"] is True
        assert (await sync_client.receive())["data"] == "sync"
