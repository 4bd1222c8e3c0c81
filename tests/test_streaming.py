"""Streamed lists: 206 pages then an end marker, served alongside other actions, cancellable."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from django.db.models import QuerySet
from rest_framework import permissions as drf

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import (
    ActionContext,
    AsyncAPIConsumer,
    BasePermission,
    PageNumberPagination,
    RetrieveModelMixin,
    StreamedListModelMixin,
    StreamEnd,
    db,
)
from typed_dcrf.testing import ApiClient, ErrorReply
from typed_dcrf.types import JSONObject, JSONValue, Scope

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 2.0
"""Seconds to wait for any one frame or event."""

NAMES = ["a", "b", "c", "d", "e"]
"""The items every test starts with, created in this order."""


def create_items() -> list[Item]:
    """An item per name of ``NAMES``, in pk order; b and d are done."""
    return [Item.objects.create(name=name, slug=name, done=name in ("b", "d")) for name in NAMES]


@pytest.fixture
def items() -> list[Item]:
    """``create_items()``."""
    return create_items()


class Stream(
    StreamedListModelMixin[Item, ItemSerializer], RetrieveModelMixin[Item, ItemSerializer]
):
    """A streamed list with a typed filter, and retrieve."""

    def filter_list(self, queryset: QuerySet[Item], *, done: bool | None = None) -> QuerySet[Item]:
        return queryset if done is None else queryset.filter(done=done)


class NumberedStream(StreamedListModelMixin[Item, ItemSerializer]):
    pagination_class = PageNumberPagination


class MembersOnly(BasePermission):
    """Anyone connects; only authenticated users run actions."""

    def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        return bool(context.user.is_authenticated)


class MembersStream(StreamedListModelMixin[Item, ItemSerializer]):
    permission_classes = (MembersOnly,)


class Gate:
    """Holds a stream's pages back until the test opens it.

    Page fetching runs in the database thread, which every sync action shares: blocking it
    would block the very actions the tests send meanwhile. So the stream is held on the event
    loop instead, just before it sends a page (``GatedStream.send``): the test knows a page is
    held (``held``), acts while the stream is mid-way, then lets the pages go (``opened``).
    """

    def __init__(self) -> None:
        self.held = asyncio.Event()
        self.opened = asyncio.Event()
        self.cancelled = False
        """Whether the stream's task was cancelled while a page was held."""

    async def hold(self) -> None:
        self.held.set()
        try:
            await self.opened.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    async def wait_until_held(self) -> None:
        await asyncio.wait_for(self.held.wait(), TIMEOUT)


class GatedStream(Stream):
    """``Stream`` whose pages (206 frames) wait at the ``Gate`` in scope["gate"]."""

    # The signature of AsyncWebsocketConsumer.send, which itself overrides AsyncConsumer's.
    async def send(  # type: ignore[override]
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        gate = scope_gate(self.scope)
        if text_data is not None and json.loads(text_data)["response_status"] == 206:
            await gate.hold()
        await super().send(text_data, bytes_data, close)


def scope_gate(scope: Scope) -> Gate:
    """The ``Gate`` a test put in the connection's scope."""
    gate: Gate = scope["gate"]
    return gate


def gated(gate: Gate) -> ApiClient:
    """A client of ``GatedStream`` whose pages wait at ``gate``."""
    return ApiClient(GatedStream, scope={"gate": gate}, timeout=TIMEOUT)


async def receive_stream(client: ApiClient, request_id: JSONValue) -> list[JSONObject]:
    """The frames of the stream ``request_id``, its end marker included (bounded)."""
    frames: list[JSONObject] = []
    for _ in range(100):
        frame = await client.receive()
        if frame["request_id"] != request_id:
            continue
        frames.append(frame)
        if frame["response_status"] != 206:
            return frames
    raise AssertionError("the stream did not end")


def data_of(frame: JSONObject) -> JSONObject:
    """The ``data`` object of a reply frame."""
    data = frame["data"]
    assert isinstance(data, dict)
    return data


def result_names(page: JSONValue) -> list[str]:
    """The names of the rows of one page's ``data``."""
    assert isinstance(page, dict)
    results = page["results"]
    assert isinstance(results, list)
    return [str(row["name"]) for row in results if isinstance(row, dict)]


def page_names(frames: list[JSONObject]) -> list[list[str]]:
    """The names in each 206 page of ``frames``."""
    return [result_names(frame["data"]) for frame in frames if frame["response_status"] == 206]


def windows(frames: list[JSONObject]) -> list[tuple[JSONValue, ...]]:
    """``(count, limit, offset)`` of each 206 page of ``frames``."""
    return [
        (data["count"], data["limit"], data["offset"])
        for data in (data_of(frame) for frame in frames if frame["response_status"] == 206)
    ]


def end_marker(request_id: JSONValue, *, count: int, cancelled: bool) -> JSONObject:
    """The exact final frame of a stream."""
    return {
        "errors": [],
        "data": {"count": count, "cancelled": cancelled, "end": True},
        "action": "stream_list",
        "response_status": 200,
        "request_id": request_id,
    }


@pytest.mark.usefixtures("items")
async def test_pages_arrive_in_order_then_the_end_marker() -> None:
    """Every page is a 206 reply with the stream's request_id, in order; a 200 end marker
    with the number of rows sent closes the stream; nothing follows it."""
    request_id: JSONValue = {"stream": [1, "x"]}
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": request_id, "limit": 2})
        frames = await receive_stream(client, request_id)
        assert await client.receive_nothing(0.1)
    *pages, end = frames
    assert page_names(pages) == [["a", "b"], ["c", "d"], ["e"]]
    assert windows(pages) == [(5, 2, 0), (5, 2, 2), (5, 2, 4)]
    assert all(set(data_of(frame)) == {"results", "count", "limit", "offset"} for frame in pages)
    assert all(
        (frame["response_status"], frame["action"], frame["errors"]) == (206, "stream_list", [])
        for frame in pages
    )
    assert end == end_marker(request_id, count=5, cancelled=False)


async def receive_streams(client: ApiClient, *request_ids: str) -> dict[str, list[JSONObject]]:
    """The frames of several concurrent streams, by request_id, until each has ended."""
    frames: dict[str, list[JSONObject]] = {request_id: [] for request_id in request_ids}
    running = set(request_ids)
    for _ in range(100):
        if not running:
            return frames
        frame = await client.receive()
        request_id = frame["request_id"]
        assert isinstance(request_id, str)
        frames[request_id].append(frame)
        if frame["response_status"] != 206:
            running.discard(request_id)
    raise AssertionError("the streams did not end")


@pytest.mark.usefixtures("items")
async def test_typed_client_gets_the_pages_and_a_stream_end() -> None:
    """call_streamed returns the pages' data and the end marker parsed as StreamEnd."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        pages, end = await client.call_streamed(Stream.stream_list, limit=3, offset=1)
    assert [result_names(page) for page in pages] == [["b", "c", "d"], ["e"]]
    assert end.status == 200
    assert end.data == StreamEnd(count=4, cancelled=False)


@pytest.mark.usefixtures("items")
async def test_call_on_a_streamed_action_reads_its_pages_and_returns_its_end() -> None:
    """call() takes a streamed action too: it reads the pages through, and returns the end
    marker; the next call's reply is the next frame."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        end = await client.call(Stream.stream_list, limit=3, offset=1)
        assert end.status == 200
        assert end.data == StreamEnd(count=4, cancelled=False)
        again = await client.call(Stream.stream_list, limit=10)
        assert again.data == StreamEnd(count=5, cancelled=False)


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    ("arguments", "expected", "limit"),
    [
        pytest.param({"limit": 5}, [NAMES], 5, id="one full page"),
        pytest.param({"limit": 1}, [[name] for name in NAMES], 1, id="a row a page"),
        pytest.param({}, [NAMES], 50, id="default limit"),
        pytest.param({"limit": "abc"}, [NAMES], 50, id="invalid limit"),
        pytest.param({"limit": 4000}, [NAMES], 1000, id="capped limit"),
        pytest.param({"limit": 2, "offset": 3}, [["d", "e"]], 2, id="from an offset"),
    ],
)
async def test_stream_pages_follow_the_pagination_arguments(
    arguments: JSONObject, expected: list[list[str]], limit: int
) -> None:
    """limit and offset are lenient as in the paginated list; a list ending exactly on a page
    boundary has no trailing empty page."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": "s", **arguments})
        frames = await receive_stream(client, "s")
    assert page_names(frames) == expected
    assert [window[1] for window in windows(frames)] == [limit] * len(expected)
    assert frames[-1] == end_marker("s", count=sum(map(len, expected)), cancelled=False)


@pytest.mark.parametrize(
    ("arguments", "page"),
    [
        pytest.param({}, {"results": [], "count": 0, "limit": 50, "offset": 0}, id="empty list"),
        pytest.param(
            {"limit": 2, "offset": 7},
            {"results": [], "count": 5, "limit": 2, "offset": 7},
            id="offset past the end",
        ),
    ],
)
async def test_stream_without_rows_sends_one_empty_page_then_the_end(
    arguments: JSONObject, page: JSONObject
) -> None:
    """With no rows to send, the stream sends one empty 206 page (with the list's count),
    then an end marker with count 0."""
    if page["count"]:
        await db.run(create_items)
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": "s", **arguments})
        frames = await receive_stream(client, "s")
    assert [(frame["response_status"], frame["data"]) for frame in frames] == [
        (206, page),
        (200, {"count": 0, "cancelled": False, "end": True}),
    ]


@pytest.mark.usefixtures("items")
async def test_filter_arguments_apply_to_every_page() -> None:
    """The list's filter arguments narrow the stream; each page's count is the filtered one."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": "s", "done": False, "limit": 2})
        frames = await receive_stream(client, "s")
    assert page_names(frames) == [["a", "c"], ["e"]]
    assert windows(frames) == [(3, 2, 0), (3, 2, 2)]
    assert frames[-1] == end_marker("s", count=3, cancelled=False)


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    ("arguments", "errors"),
    [
        pytest.param({"done": "maybe"}, [{"done": ["Must be a valid boolean."]}], id="invalid"),
        pytest.param({"colour": "red"}, [{"colour": ["Unexpected field."]}], id="unknown"),
    ],
)
async def test_invalid_stream_arguments_are_a_400_without_pages(
    arguments: JSONObject, errors: JSONValue
) -> None:
    """Invalid or unknown arguments refuse the stream before any page is sent."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": "s", **arguments})
        reply = await client.receive()
        assert await client.receive_nothing(0.1)
    assert (reply["response_status"], reply["errors"]) == (400, errors)


@pytest.mark.usefixtures("items")
async def test_stream_with_page_numbers_sends_numbered_pages() -> None:
    """With PageNumberPagination, the stream's pages are numbered pages, 1 to the last."""
    async with ApiClient(NumberedStream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": "s", "page_size": 2})
        frames = await receive_stream(client, "s")
    assert page_names(frames) == [["a", "b"], ["c", "d"], ["e"]]
    assert [(data_of(f)["page"], data_of(f)["pages"]) for f in frames[:-1]] == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]
    assert frames[-1] == end_marker("s", count=5, cancelled=False)


class ReadOnlyStream(StreamedListModelMixin[Item, ItemSerializer]):
    permission_classes = (drf.IsAuthenticatedOrReadOnly,)


@pytest.mark.usefixtures("items")
async def test_drf_permissions_see_stream_and_cancel_as_reads() -> None:
    """DRF sees stream_list and cancel as GET: read-only permissions let anonymous users in."""
    async with ApiClient(ReadOnlyStream, timeout=TIMEOUT) as client:
        pages, end = await client.call_streamed(ReadOnlyStream.stream_list)
        assert (len(pages), end.data.count) == (1, len(NAMES))
        with pytest.raises(ErrorReply) as missing:
            await client.call(ReadOnlyStream.cancel, target="none")
        assert missing.value.status == 404


@pytest.mark.usefixtures("items")
async def test_stream_checks_permissions_before_the_first_page() -> None:
    """A refused stream is one 401 reply, with no page."""
    async with ApiClient(MembersStream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": "s"})
        reply = await client.receive()
        assert await client.receive_nothing(0.1)
    assert (reply["response_status"], reply["errors"]) == (
        401,
        ["Authentication credentials were not provided."],
    )


async def test_other_actions_are_served_while_a_stream_runs(items: list[Item]) -> None:
    """While a stream is held mid-way, retrieve is answered; the stream then completes."""
    gate = Gate()
    async with gated(gate) as client:
        await client.send({"action": "stream_list", "request_id": "s", "limit": 1})
        await gate.wait_until_held()
        retrieved = await client.call(GatedStream.retrieve, pk=items[2].pk)
        assert await client.receive_nothing(0.1)  # the stream's first page is still held
        gate.opened.set()
        frames = await receive_stream(client, "s")
    assert retrieved.data["name"] == "c"
    assert page_names(frames) == [[name] for name in NAMES]
    assert frames[-1] == end_marker("s", count=5, cancelled=False)


@pytest.mark.usefixtures("items")
async def test_concurrent_streams_each_send_their_own_pages() -> None:
    """Two streams of one connection, with different filters, interleave without mixing."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send(
            {"action": "stream_list", "request_id": "open", "done": False, "limit": 1}
        )
        await client.send({"action": "stream_list", "request_id": "done", "done": True, "limit": 1})
        frames = await receive_streams(client, "open", "done")
    assert page_names(frames["open"]) == [["a"], ["c"], ["e"]]
    assert page_names(frames["done"]) == [["b"], ["d"]]
    assert frames["open"][-1] == end_marker("open", count=3, cancelled=False)
    assert frames["done"][-1] == end_marker("done", count=2, cancelled=False)


@pytest.mark.usefixtures("items")
async def test_cancel_stops_the_stream_before_its_next_page() -> None:
    """cancel {target} answers 204; the stream sends the page it holds, then an end marker
    with cancelled true, and nothing after it."""
    gate = Gate()
    async with gated(gate) as client:
        await client.send({"action": "stream_list", "request_id": "s", "limit": 1})
        await gate.wait_until_held()
        cancelled = await client.call(GatedStream.cancel, target="s")
        gate.opened.set()
        frames = await receive_stream(client, "s")
        assert await client.receive_nothing(0.2)
    assert (cancelled.status, cancelled.data) == (204, None)
    assert page_names(frames) == [["a"]]
    assert frames[-1] == end_marker("s", count=1, cancelled=True)


@pytest.mark.usefixtures("items")
async def test_cancel_during_the_last_page_reports_a_finished_stream() -> None:
    """A cancel accepted (204) while the last page is on its way comes too late: every row was
    sent, so the end marker says cancelled false."""
    gate = Gate()
    async with gated(gate) as client:
        await client.send({"action": "stream_list", "request_id": "s", "done": True})
        await gate.wait_until_held()
        await client.call(GatedStream.cancel, target="s")
        gate.opened.set()
        frames = await receive_stream(client, "s")
    assert page_names(frames) == [["b", "d"]]
    assert frames[-1] == end_marker("s", count=2, cancelled=False)


@pytest.mark.parametrize(
    ("request_id", "target"),
    [
        pytest.param(7, 7, id="int"),
        pytest.param("s", "s", id="str"),
        pytest.param({"a": 1, "b": [2]}, {"b": [2], "a": 1}, id="object, keys in any order"),
        pytest.param(None, None, id="no request_id"),
    ],
)
@pytest.mark.usefixtures("items")
async def test_cancel_finds_the_stream_by_its_request_id(
    request_id: JSONValue, target: JSONValue
) -> None:
    """cancel's target is compared to the stream's request_id as JSON values."""
    gate = Gate()
    async with gated(gate) as client:
        frame: JSONObject = {"action": "stream_list", "limit": 1}
        if request_id is not None:
            frame["request_id"] = request_id
        await client.send(frame)
        await gate.wait_until_held()
        reply = await client.call(GatedStream.cancel, target=target)
        gate.opened.set()
        frames = await receive_stream(client, request_id)
    assert reply.status == 204
    assert frames[-1] == end_marker(request_id, count=1, cancelled=True)


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    "target",
    [
        pytest.param("other", id="another id"),
        pytest.param(7, id="the id as an int"),
        pytest.param(None, id="null"),
    ],
)
async def test_cancel_of_no_running_stream_is_a_404(target: JSONValue) -> None:
    """cancel with a target no running stream has is a 404; the running stream goes on."""
    gate = Gate()
    async with gated(gate) as client:
        await client.send({"action": "stream_list", "request_id": "7", "limit": 2})
        await gate.wait_until_held()
        with pytest.raises(ErrorReply) as refused:
            await client.call(GatedStream.cancel, target=target)
        gate.opened.set()
        frames = await receive_stream(client, "7")
    assert (refused.value.status, refused.value.errors) == (
        404,
        ["No running stream has this request_id."],
    )
    assert frames[-1] == end_marker("7", count=5, cancelled=False)


@pytest.mark.usefixtures("items")
async def test_cancel_after_the_stream_ended_is_a_404() -> None:
    """A finished stream cannot be cancelled; its request_id may start a new stream."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": "s", "limit": 3})
        first = await receive_stream(client, "s")
        with pytest.raises(ErrorReply) as refused:
            await client.call(Stream.cancel, target="s")
        await client.send({"action": "stream_list", "request_id": "s", "limit": 3})
        second = await receive_stream(client, "s")
    assert refused.value.status == 404
    assert page_names(first) == page_names(second) == [["a", "b", "c"], ["d", "e"]]


async def test_cancel_needs_a_target() -> None:
    """cancel without a target is a 400 naming the missing argument."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send({"action": "cancel", "request_id": 1})
        reply = await client.receive()
    assert (reply["response_status"], reply["errors"]) == (
        400,
        [{"target": ["This field is required."]}],
    )


@pytest.mark.usefixtures("items")
async def test_second_stream_with_a_running_request_id_is_a_400() -> None:
    """A stream whose request_id is already streaming is refused; the first one goes on."""
    gate = Gate()
    async with gated(gate) as client:
        await client.send({"action": "stream_list", "request_id": "s", "limit": 2})
        await gate.wait_until_held()
        await client.send({"action": "stream_list", "request_id": "s", "limit": 1})
        refused = await client.receive()
        gate.opened.set()
        frames = await receive_stream(client, "s")
    assert refused == {
        "errors": ["A stream with this request_id is running."],
        "data": None,
        "action": "stream_list",
        "response_status": 400,
        "request_id": "s",
    }
    assert page_names(frames) == [["a", "b"], ["c", "d"], ["e"]]
    assert frames[-1] == end_marker("s", count=5, cancelled=False)


@pytest.mark.usefixtures("items")
async def test_disconnecting_while_a_page_is_held_cancels_the_stream_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Closing the connection mid-stream cancels the stream; nothing is logged."""
    caplog.set_level(logging.DEBUG)
    gate = Gate()
    async with gated(gate) as client:
        await client.send({"action": "stream_list", "request_id": "s", "limit": 1})
        await gate.wait_until_held()
    assert gate.cancelled
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.usefixtures("items")
async def test_disconnecting_while_a_page_is_fetched_is_quiet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Closing the connection while the stream waits on the database logs nothing."""
    caplog.set_level(logging.DEBUG)
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        await client.send({"action": "stream_list", "request_id": "s", "limit": 1})
        first = await client.receive()
        assert first["response_status"] == 206
    # The database thread may still be fetching the next page: wait for it (calls run in turn).
    assert await db.run(Item.objects.count) == len(NAMES)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_stream_end_is_what_the_end_marker_serializes() -> None:
    """StreamEnd defaults ``end`` to True: the marker clients look for."""
    assert StreamEnd(count=3, cancelled=False).end is True


@pytest.mark.usefixtures("items")
async def test_typed_client_cancels_its_own_stream() -> None:
    """ApiClient.stream: the pages as they come, cancel() while it runs, then the end marker."""
    gate = Gate()
    async with gated(gate) as client:
        stream = await client.stream(GatedStream.stream_list, limit=1)
        await gate.wait_until_held()
        await stream.cancel()
        gate.opened.set()
        pages = [page async for page in stream]
        with pytest.raises(ErrorReply) as too_late:
            await stream.cancel()
    assert [result_names(page) for page in pages] == [["a"]]
    assert (stream.response.status, stream.response.data) == (200, StreamEnd(1, cancelled=True))
    assert too_late.value.status == 404


@pytest.mark.usefixtures("items")
async def test_stream_response_is_read_after_the_pages() -> None:
    """A stream's response is there once its pages are read, not before."""
    async with ApiClient(Stream, timeout=TIMEOUT) as client:
        stream = await client.stream(Stream.stream_list, limit=2)
        with pytest.raises(RuntimeError, match="Read the stream's pages first"):
            _ = stream.response
        assert len([page async for page in stream]) == 3
        assert stream.response.data.count == len(NAMES)
