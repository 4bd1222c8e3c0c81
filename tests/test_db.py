"""typed_dcrf.db: ORM calls from async code run in the database thread, strictly and safely."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.consumer import AsyncConsumer
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.query import RawQuerySet

from tests.app.models import Note
from typed_dcrf import AsyncAPIConsumer, Response, action, db
from typed_dcrf.testing import ApiClient

EVENTS: list[str] = []
"""What happened in the database thread, in order: "close" (a connection) or "action"."""


def create_note(text: str, *, times: int = 1) -> tuple[int, int]:
    """Create ``times`` notes; return the thread it ran in and the number of notes."""
    for _ in range(times):
        Note.objects.create(text=text)
    return threading.get_ident(), Note.objects.count()


@db.database_sync
def create_notes(*texts: str, suffix: str = "") -> tuple[int, int]:
    """Create one note per text; return the thread it ran in and the number of notes."""
    for text in texts:
        Note.objects.create(text=text + suffix)
    return threading.get_ident(), Note.objects.count()


def lazy_notes() -> QuerySet[Note]:
    """A mistake: the QuerySet would be evaluated later, on the event loop."""
    return Note.objects.all()


@db.database_sync
def decorated_lazy_notes() -> QuerySet[Note]:
    """The same mistake, behind the decorator."""
    return Note.objects.filter(text="x")


def raw_notes() -> RawQuerySet[Note]:
    """The same mistake with a raw query: evaluated later, it too runs SQL on the event loop."""
    return Note.objects.raw(f"SELECT id, text FROM {Note._meta.db_table}")


def iterated_notes() -> Iterator[Note]:
    """The same mistake with ``.iterator()``: the cursor is only opened when iterated."""
    return Note.objects.iterator()


def listed_notes() -> list[Note]:
    """The fix: the QuerySet evaluated in the database thread."""
    return list(Note.objects.order_by("pk"))


def record_action() -> int:
    """Record that the function ran; return its thread."""
    EVENTS.append("action")
    return threading.get_ident()


def keep_connection() -> int:
    """Open this thread's connection and make it persistent (as CONN_MAX_AGE=None does)."""
    connection.ensure_connection()
    connection.close_at = None
    return threading.get_ident()


def expire_connection() -> int:
    """Open this thread's connection and make it obsolete (past its CONN_MAX_AGE)."""
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    return threading.get_ident()


def close_connection() -> None:
    """Close this thread's connection (``connection`` resolves per thread, so not earlier)."""
    connection.close()


class Store(AsyncAPIConsumer):
    """Actions that use the database correctly, and one that does not."""

    @action()
    def touch(self) -> Response[int]:
        return Response.ok(record_action())

    @action()
    def add(self, text: str) -> Response[int]:
        Note.objects.create(text=text)
        return Response.ok(Note.objects.count())

    @action()
    async def echo(self, n: int) -> Response[int]:
        return Response.ok(n)

    @action()
    async def careless_count(self) -> Response[int]:
        return Response.ok(Note.objects.count())  # the ORM on the event loop: a mistake


class ChannelsDispatchStore(Store):
    """``Store`` with channels' own dispatch, to show what the dispatch test counts."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        await AsyncConsumer.dispatch(self, message)


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``EVENTS``, emptied, with every close of a connection to the default database recorded
    in it (not those of another database an earlier test used in the database thread: an
    in-memory SQLite connection, never really closed, is closed again at every check)."""
    EVENTS.clear()
    wrapper = type(connections["default"])
    original = wrapper.close

    def close(self: BaseDatabaseWrapper) -> None:
        if self.alias == DEFAULT_DB_ALIAS:
            EVENTS.append("close")
        original(self)

    monkeypatch.setattr(wrapper, "close", close)
    return EVENTS


@pytest.fixture
def real_close_old_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the test communicator from turning close_old_connections into a no-op.

    typed_dcrf.testing, as channels.testing, swaps ``channels.db.close_old_connections`` for its
    ``_no_op`` while a test awaits a reply (to spare the test's own connection); with a
    transactional test the real one is safe, and it is what production runs.
    """
    monkeypatch.setattr("typed_dcrf.testing._no_op", close_old_connections)


@pytest.fixture
async def db_thread_connection() -> AsyncIterator[None]:
    """Close the database thread's connection after the test (it may have been kept open)."""
    yield
    await sync_to_async(close_connection)()


@pytest.mark.django_db(transaction=True)
async def test_run_calls_the_function_in_the_database_thread_and_returns_its_value() -> None:
    """db.run passes positional and keyword arguments, runs off the event loop, returns."""
    thread, count = await db.run(create_note, "hello", times=2)
    assert thread != threading.get_ident()
    assert count == 2
    note = await db.run(Note.objects.create, text="direct")
    assert note.text == "direct"
    assert await db.run(Note.objects.count) == 3


@pytest.mark.django_db(transaction=True)
async def test_database_sync_decorator_runs_in_the_database_thread() -> None:
    """@db.database_sync makes an awaitable that runs off the event loop and returns."""
    thread, count = await create_notes("a", "b", suffix="!")
    assert thread != threading.get_ident()
    assert count == 2
    assert [note.text for note in await db.run(listed_notes)] == ["a!", "b!"]


@pytest.mark.django_db(transaction=True)
async def test_run_refuses_an_unevaluated_queryset() -> None:
    """A function returning a lazy QuerySet raises, naming the function and the fix."""
    with pytest.raises(db.UnevaluatedQuerySetError, match=r"lazy_notes.*`return list\("):
        await db.run(lazy_notes)


@pytest.mark.django_db(transaction=True)
async def test_database_sync_refuses_an_unevaluated_queryset() -> None:
    """A decorated function returning a lazy QuerySet raises, naming the function and the fix."""
    with pytest.raises(db.UnevaluatedQuerySetError, match=r"decorated_lazy_notes.*`return list\("):
        await decorated_lazy_notes()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("func", [raw_notes, iterated_notes])
async def test_run_refuses_other_unevaluated_query_results(func: Callable[[], object]) -> None:
    """A RawQuerySet or a QuerySet.iterator() would run SQL on the event loop too: refused."""
    with pytest.raises(db.UnevaluatedQuerySetError, match=r"`return list\("):
        await db.run(func)


def test_unevaluated_queryset_error_is_a_type_error() -> None:
    """UnevaluatedQuerySetError subclasses TypeError: returning the wrong type is the mistake."""
    assert issubclass(db.UnevaluatedQuerySetError, TypeError)


@pytest.mark.django_db(transaction=True)
async def test_run_accepts_an_evaluated_queryset() -> None:
    """A function returning list(queryset) is fine, and the list is usable on the event loop."""
    await db.run(Note.objects.bulk_create, [Note(text="x"), Note(text="y")])
    assert [note.text for note in await db.run(listed_notes)] == ["x", "y"]


# A fresh connection is kept; an obsolete one is closed before the call.
CONNECTION_STATES = [
    pytest.param(keep_connection, ["action"], id="fresh connection kept"),
    pytest.param(expire_connection, ["close", "action"], id="obsolete connection closed"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("prepare", "first_events"), CONNECTION_STATES)
async def test_run_closes_an_obsolete_connection_before_calling(
    events: list[str],
    db_thread_connection: None,
    prepare: Callable[[], int],
    first_events: list[str],
) -> None:
    """db.run closes the database thread's obsolete connection (only) before calling."""
    # Plain sync_to_async shares the database thread but closes nothing around the call.
    thread = await sync_to_async(prepare)()
    assert await db.run(record_action) == thread
    assert events[: len(first_events)] == first_events


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("prepare", "first_events"), CONNECTION_STATES)
async def test_sync_action_closes_an_obsolete_connection_before_running(
    events: list[str],
    real_close_old_connections: None,
    db_thread_connection: None,
    prepare: Callable[[], int],
    first_events: list[str],
) -> None:
    """A sync action never runs on an obsolete connection: the database thread closes it first."""
    async with ApiClient(Store) as client:
        thread = await sync_to_async(prepare)()
        reply = await client.call(Store.touch)
    assert reply.data == thread
    assert events[: len(first_events)] == first_events


def connection_id() -> int | None:
    """The process serving the database thread's connection, opened if it is not (``None`` on
    SQLite: the suite's database there is in memory, whose connection Django never closes)."""
    if connection.vendor == "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone() or (None,)
    assert isinstance(pid, int)
    return pid


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "between",
    [
        pytest.param(expire_connection, id="past its CONN_MAX_AGE"),
        pytest.param(close_connection, id="closed"),
    ],
)
async def test_actions_keep_working_when_the_connection_ends_between_messages(
    real_close_old_connections: None,
    db_thread_connection: None,
    between: Callable[[], object],
) -> None:
    """The database thread's connection expires, or is closed, between two messages of one
    client: the next action gets a new connection and works, on SQLite and PostgreSQL."""
    async with ApiClient(Store) as client:
        assert (await client.call(Store.add, text="before")).data == 1
        first = await sync_to_async(connection_id)()
        await sync_to_async(between)()
        assert (await client.call(Store.add, text="after")).data == 2
        now = await sync_to_async(connection_id)()
        assert now is None or now != first
        assert (await client.call(Store.echo, n=3)).data == 3


@pytest.mark.django_db(transaction=True)
async def test_sync_action_uses_the_orm_in_the_database_thread() -> None:
    """A sync action creates and counts rows; the rows are visible to db.run afterwards."""
    async with ApiClient(Store) as client:
        first = await client.call(Store.add, text="one")
        second = await client.call(Store.add, text="two")
    assert (first.data, second.data) == (1, 2)
    assert await db.run(Note.objects.count) == 2


@pytest.mark.parametrize(
    ("consumer", "calls_per_frame"),
    [
        pytest.param(Store, 0, id="typed_dcrf dispatch"),
        pytest.param(ChannelsDispatchStore, 1, id="channels dispatch (control)"),
    ],
)
async def test_dispatch_does_not_close_old_connections_per_message(
    monkeypatch: pytest.MonkeyPatch, consumer: type[Store], calls_per_frame: int
) -> None:
    """AsyncAPIConsumer.dispatch skips channels' aclose_old_connections hop on every frame."""
    calls: list[str] = []

    async def counting_aclose_old_connections() -> None:
        calls.append("aclose_old_connections")

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counting_aclose_old_connections)
    monkeypatch.setattr("channels.db.aclose_old_connections", counting_aclose_old_connections)
    frames = 5
    async with ApiClient(consumer) as client:
        for n in range(frames):
            reply = await client.call(Store.echo, n=n)
            assert reply.data == n
        # Counted before the disconnect, which channels' dispatch would count too.
        assert len(calls) == (1 + frames) * calls_per_frame  # the handshake and every frame


@pytest.mark.django_db(transaction=True)
async def test_async_action_touching_the_orm_gets_500_and_a_hint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ORM use on the event loop is a 500 (connection kept) logged with a hint to typed_dcrf.db."""
    caplog.set_level(logging.ERROR, logger="typed_dcrf")
    async with ApiClient(Store) as client:
        await client.send({"action": "careless_count", "request_id": 1})
        reply = await client.receive()
        assert reply == {
            "errors": ["A server error occurred."],
            "data": None,
            "action": "careless_count",
            "response_status": 500,
            "request_id": 1,
        }
        still_open = await client.call(Store.echo, n=7)
        assert still_open.data == 7
    hints = [record for record in caplog.records if record.name == "typed_dcrf"]
    assert len(hints) == 1
    assert hints[0].levelno == logging.ERROR
    assert "careless_count" in hints[0].getMessage()
    assert "typed_dcrf.db" in hints[0].getMessage()
