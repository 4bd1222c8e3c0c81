"""Property-based fuzzing of the wire protocol (hypothesis): frames of every kind, to typed
actions, model CRUD and a multiplexed socket, each reply checked against the envelope's
invariants, and the connection checked to answer a ping after each example.

The strategies and the budget are in ``tests/fuzzing.py``; ``TYPED_DCRF_FUZZ=long`` runs 50
times the examples. What the fuzzer found has its regression tests in
``tests/test_fuzz_findings.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.app import fuzzed
from tests.app.fuzzed import (
    FuzzActions,
    FuzzItems,
    FuzzItemsByName,
    FuzzItemsBySlug,
    FuzzItemsByUuid,
    FuzzStreams,
)
from tests.app.models import Item
from tests.fuzzing import (
    ACTION_ARGUMENTS,
    CRUD_ARGUMENTS,
    JSON,
    STRING_LOOKUPS,
    TEXT,
    Raw,
    Sent,
    action_frames,
    as_text,
    budget,
    obj,
    raw_frames,
    readable,
    same,
)
from tests.leaks import leaks
from typed_dcrf import AsyncAPIConsumer, db
from typed_dcrf.multiplex import Demultiplexer
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject, JSONValue

ENVELOPE_KEYS = {"errors", "data", "action", "response_status", "request_id"}
FRAME_ERRORS = {
    "Malformed JSON.",
    "A frame must be a JSON object.",
    "Binary frames are not supported; send JSON text frames.",
    "A frame may nest at most 32 levels of arrays and objects.",
    "A frame may be at most 524288 bytes.",
    'A multiplexed frame is {"stream": <name>, "payload": <frame>}.',
}
"""The errors of a frame typed_dcrf cannot read (so neither its action nor its request_id)."""
SERVER_NAMES = sorted(
    name
    for name, value in vars(fuzzed).items()
    if isinstance(value, type) and value.__module__ == fuzzed.__name__
)
"""The sample module's classes, which no error may name (a client sent none of them)."""
PING: JSONObject = {"action": "ping", "request_id": "ping"}


# --- Sending and checking ------------------------------------------------------------------


async def send(client: ApiClient, raw: Raw) -> None:
    """Send one fuzzed frame, and count it."""
    Sent.frames += 1
    if raw.text is not None:
        await client.send_text(raw.text)
    else:
        assert raw.data is not None
        await client.send_bytes(raw.data)


async def next_reply(client: ApiClient) -> tuple[str, JSONObject]:
    """The next frame the consumer sent: a text frame holding a JSON object."""
    message = await client.communicator.receive_output(client.timeout)
    assert message["type"] == "websocket.send", message
    text = message.get("text")
    assert isinstance(text, str), message
    decoded: object = json.loads(text)
    assert isinstance(decoded, dict), text
    return text, cast("JSONObject", decoded)


def check_envelope(reply: JSONObject, frame: JSONValue, text: str) -> None:
    """The invariants of a reply to ``frame`` (the object sent, as the protocol reads it;
    ``None`` when it cannot be read): exactly the five keys; a status below 500; errors
    exactly when it fails; the action and request_id echoed type-exactly, or null; no
    internal detail."""
    assert set(reply) == ENVELOPE_KEYS, reply
    status, errors = reply["response_status"], reply["errors"]
    assert type(status) is int, reply
    assert 200 <= status < 500, reply  # a 5xx answers a bug, never a client's frame
    assert isinstance(errors, list), reply
    if status < 300:
        assert errors == [], reply
    else:
        assert errors, reply
    sent: JSONObject = frame if isinstance(frame, dict) else {}
    action = sent.get("action")
    assert same(reply["action"], action if isinstance(action, str) else None), reply
    expected = sent.get("request_id")
    assert same(reply["request_id"], expected), (reply, expected)
    assert leaks([text]) == [], text
    named = [name for name in SERVER_NAMES if name in json.dumps(errors)]
    assert named == [], reply


def unreadable(reply: JSONObject) -> bool:
    """Whether ``reply`` says that its frame could not be read."""
    errors = reply["errors"]
    return (
        reply["response_status"] == 400
        and isinstance(errors, list)
        and len(errors) == 1
        and isinstance(errors[0], str)
        and errors[0] in FRAME_ERRORS
    )


ECHOED = {"echo": "text", "anything": "value"}
"""Actions whose success answers one of their arguments as it came."""


async def check_reply(client: ApiClient, raw: Raw) -> None:
    """Read the reply to ``raw``, sent to a plain consumer, and check it; a success of an
    action in ``ECHOED`` answers its argument type-exactly."""
    text, reply = await next_reply(client)
    frame = readable(raw)
    check_envelope(reply, frame, text)
    assert unreadable(reply) == (frame is None), (raw, reply)
    if frame is not None and reply["response_status"] == 200:
        argument = ECHOED.get(str(frame["action"]))
        if argument is not None:
            assert same(reply["data"], frame[argument]), (raw, reply)


async def check_multiplexed_reply(client: ApiClient, raw: Raw) -> None:
    """Read the reply to ``raw``, sent to a ``Demultiplexer``, and check it: in the frame's
    stream when it names one (a string) and has a payload, else a plain envelope."""
    text, reply = await next_reply(client)
    frame = readable(raw)
    routed = frame is not None and isinstance(frame.get("stream"), str) and "payload" in frame
    if routed:
        assert frame is not None
        assert set(reply) == {"stream", "payload"}, reply
        assert same(reply["stream"], frame["stream"]), reply
        payload = reply["payload"]
        assert isinstance(payload, dict), reply
        check_envelope(payload, frame["payload"], text)
        if frame["stream"] not in FuzzStreams.streams:
            assert payload["response_status"] == 404, (raw, reply)
        else:
            assert unreadable(payload) == (not isinstance(frame["payload"], dict)), (raw, reply)
    else:
        check_envelope(reply, None if frame is None else frame.get("payload"), text)
        assert unreadable(reply), (raw, reply)


async def still_answers(client: ApiClient, stream: str | None = None) -> None:
    """The connection answers a ping, and sent nothing else before it."""
    if stream is None:
        await client.send(PING)
        _, reply = await next_reply(client)
    else:
        await client.send({"stream": stream, "payload": PING})
        _, framed = await next_reply(client)
        assert framed["stream"] == stream, framed
        payload = framed["payload"]
        assert isinstance(payload, dict), framed
        reply = payload
    assert reply == {
        "errors": [],
        "data": "pong",
        "action": "ping",
        "response_status": 200,
        "request_id": "ping",
    }


# --- Connections kept across examples --------------------------------------------------------


@pytest.fixture
async def actions() -> AsyncIterator[ApiClient]:
    """One connection to the typed actions, for every example of a test."""
    async with ApiClient(FuzzActions) as client:
        yield client


def seed_items() -> None:
    Item.objects.create(name="Milk", slug="milk")
    Item.objects.create(name="Eggs", slug="eggs")


ITEM_CONSUMERS: dict[str, type[AsyncAPIConsumer]] = {
    "pk": FuzzItems,
    "slug": FuzzItemsBySlug,
    "item_name": FuzzItemsByName,
    "uuid": FuzzItemsByUuid,
}


@pytest.fixture
async def items(transactional_db: None) -> AsyncIterator[dict[str, ApiClient]]:
    """A connection to each item consumer (by each lookup), for every example of a test."""
    await db.run(seed_items)
    async with AsyncExitStack() as stack:
        yield {
            key: await stack.enter_async_context(ApiClient(consumer))
            for key, consumer in ITEM_CONSUMERS.items()
        }


@pytest.fixture
async def streams(transactional_db: None) -> AsyncIterator[ApiClient]:
    """One multiplexed connection, for every example of a test."""
    await db.run(seed_items)
    async with ApiClient(FuzzStreams) as client:
        yield client


# --- The fuzz tests ----------------------------------------------------------------------------

TYPED_FRAMES = action_frames(ACTION_ARGUMENTS)


@budget(1500)
@given(raw=TYPED_FRAMES.flatmap(as_text))
async def test_typed_action_frames(actions: ApiClient, raw: Raw) -> None:
    """Arguments of each kind of type (nested dataclasses, TypedDicts, pydantic models,
    Literal, enums, lists, Optional, defaults), right and wrong: every reply keeps the
    envelope's invariants, and the connection answers afterwards."""
    assert readable(raw) is not None
    await send(actions, raw)
    await check_reply(actions, raw)
    await still_answers(actions)


@budget(1500)
@given(raw=raw_frames(TYPED_FRAMES))
async def test_any_frame(actions: ApiClient, raw: Raw) -> None:
    """Any frame, JSON or not, text or binary: one reply each, the envelope's invariants, a
    null request_id exactly when the frame cannot be read."""
    await send(actions, raw)
    await check_reply(actions, raw)
    await still_answers(actions)


@budget(200)
@given(raws=st.lists(raw_frames(TYPED_FRAMES), min_size=1, max_size=8))
async def test_frames_sent_at_once_on_a_new_connection(raws: list[Raw]) -> None:
    """Frames sent without waiting, on a connection of their own: a reply to each, in order,
    then an answer to a ping."""
    async with ApiClient(FuzzActions) as client:
        for raw in raws:
            await send(client, raw)
        for raw in raws:
            await check_reply(client, raw)
        await still_answers(client)


def by_name(frame: JSONObject) -> JSONObject:
    """A frame of ``FuzzItems`` for ``FuzzItemsByName``: its ``pk`` under ``item_name``."""
    renamed = {key: value for key, value in frame.items() if key != "pk"}
    if "pk" in frame:
        renamed["item_name"] = frame["pk"]
    return renamed


CRUD_FRAMES = st.one_of(
    st.tuples(st.just("pk"), action_frames(CRUD_ARGUMENTS)),
    *(
        st.tuples(st.just(key), action_frames({"retrieve": arguments}))
        for key, arguments in STRING_LOOKUPS.items()
    ),
    st.tuples(
        st.just("item_name"),
        action_frames(
            {
                name: arguments
                for name, arguments in CRUD_ARGUMENTS.items()
                if name in ("update", "patch", "delete")
            }
        ).map(by_name),
    ),
)
"""Frames of each CRUD action, to the consumer of each lookup field."""


@budget(1500)
@given(
    sent=st.one_of(
        CRUD_FRAMES.flatmap(lambda pair: as_text(pair[1]).map(lambda raw: (pair[0], raw))),
        st.tuples(
            st.sampled_from(sorted(ITEM_CONSUMERS)), raw_frames(CRUD_FRAMES.map(lambda p: p[1]))
        ),
    )
)
async def test_model_crud_frames(items: dict[str, ApiClient], sent: tuple[str, Raw]) -> None:
    """create, retrieve, update, patch, delete and list of a model, looked up by an integer
    primary key, a slug, a CharField and a UUID, with right and wrong arguments."""
    key, raw = sent
    client = items[key]
    await send(client, raw)
    await check_reply(client, raw)
    await still_answers(client)


STREAM_NAMES: st.SearchStrategy[JSONValue] = st.one_of(
    st.sampled_from(sorted(FuzzStreams.streams)), TEXT, JSON
)
MULTIPLEXED = obj(
    {
        "stream": STREAM_NAMES,
        "payload": st.one_of(TYPED_FRAMES, action_frames(CRUD_ARGUMENTS), JSON),
    }
)
"""``{"stream", "payload"}`` frames: streams of the socket, others, and wrong types; payloads
of either stream's actions, and anything."""


@budget(1000)
@given(raw=raw_frames(MULTIPLEXED.map(lambda frame: frame if isinstance(frame, dict) else {})))
async def test_multiplexed_frames(streams: ApiClient, raw: Raw) -> None:
    """A ``Demultiplexer``: each frame gets one reply, in its stream or plain, and every stream
    still answers."""
    await send(streams, raw)
    await check_multiplexed_reply(streams, raw)
    for stream in sorted(FuzzStreams.streams):
        await still_answers(streams, stream)


def test_the_sample_streams_are_a_demultiplexer() -> None:
    """What ``test_multiplexed_frames`` drives is a ``Demultiplexer`` of both samples."""
    assert issubclass(FuzzStreams, Demultiplexer)
    assert set(FuzzStreams.streams.values()) == {FuzzActions, FuzzItems}
