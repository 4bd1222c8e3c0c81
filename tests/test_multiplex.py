"""Stream multiplexing: one socket, a consumer per stream, channelsmultiplexer's framing, and an
error frame (never a dropped socket) for every frame that cannot be routed."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast

import pytest
from channels.layers import get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from tests.frames import envelope
from typed_dcrf import AsyncAPIConsumer, BasePermission, Response, action
from typed_dcrf.multiplex import Demultiplexer
from typed_dcrf.testing import ApiClient, ConnectionRefused
from typed_dcrf.types import JSONObject, Scope

EVENTS: list[str] = []
"""Connects and disconnects, as ``<stream>:<event>``."""


class Echo(AsyncAPIConsumer):
    async def connect(self) -> None:
        EVENTS.append(f"{self.stream}:connect")
        await self.channel_layer.group_add("announcements", self.channel_name)
        self.groups.append("announcements")
        await self.accept()

    async def disconnect(self, code: int) -> None:
        EVENTS.append(f"{self.stream}:disconnect")

    @action
    async def echo(self, text: str) -> Response[str]:
        return Response.ok(text)

    @action
    async def fail(self) -> Response[None]:
        raise RuntimeError("secret")

    @action
    async def leave(self) -> Response[None]:
        await self.reply("leaving")
        await self.close()
        return Response.no_content()

    async def announcement(self, message: dict[str, Any]) -> None:
        await self.reply("announcement", message["text"])


class Counter(AsyncAPIConsumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = 0

    @action
    async def increment(self) -> Response[int]:
        self.count += 1
        return Response.ok(self.count)


class RefuseAll(BasePermission):
    def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return False


class Closed(Counter):
    permission_classes = (RefuseAll,)


class App(Demultiplexer):
    streams = {"echo": Echo, "counter": Counter, "other": Counter, "closed": Closed}


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    EVENTS.clear()


def wrapped(stream: str, payload: JSONObject) -> JSONObject:
    return {"stream": stream, "payload": payload}


async def test_frames_and_replies_are_wrapped_in_their_stream() -> None:
    """{"stream", "payload"} in, the same framing out, exactly as channelsmultiplexer's."""
    async with ApiClient(App) as client:
        frame: JSONObject = {"action": "echo", "text": "hi", "request_id": 1}
        await client.send({"stream": "echo", "payload": frame})
        assert await client.receive() == wrapped(
            "echo", envelope("echo", 200, data="hi", request_id=1)
        )


async def test_the_test_client_calls_actions_on_a_stream() -> None:
    """ApiClient(Demultiplexer, stream_name=...) calls that stream's actions, typed."""
    async with ApiClient(App, stream_name="echo") as client:
        assert (await client.call(Echo.echo, text="typed")).data == "typed"


async def test_each_stream_has_its_own_consumer() -> None:
    """Two streams served by one consumer class keep separate instances and state."""
    async with ApiClient(App) as client:
        replies: list[JSONObject] = []
        for stream in ("counter", "counter", "other"):
            await client.send(wrapped(stream, {"action": "increment"}))
            replies.append(await client.receive())
    assert [(r["stream"], cast("JSONObject", r["payload"])["data"]) for r in replies] == [
        ("counter", 1),
        ("counter", 2),
        ("other", 1),
    ]


async def test_connect_and_disconnect_reach_every_stream() -> None:
    """The socket's handshake and its close reach each stream's consumer."""
    async with ApiClient(App):
        pass
    assert sorted(event for event in EVENTS if event.endswith("connect")) == [
        "echo:connect",
        "echo:disconnect",
    ]


BAD_FRAMES: list[tuple[str, JSONObject]] = [
    ("{not json", envelope(None, 400, errors=["Malformed JSON."])),
    ("", envelope(None, 400, errors=["Malformed JSON."])),
    ("[1, 2]", envelope(None, 400, errors=["A frame must be a JSON object."])),
    (
        '{"payload": {"action": "echo", "text": "x"}}',
        envelope(
            "echo", 400, errors=['A multiplexed frame is {"stream": <name>, "payload": <frame>}.']
        ),
    ),
    (
        # Not routed, yet its payload's action and request_id are read: the client can tell
        # which request failed.
        '{"stream": null, "payload": {"action": "echo", "request_id": 1.0}}',
        envelope(
            "echo",
            400,
            errors=['A multiplexed frame is {"stream": <name>, "payload": <frame>}.'],
            request_id=1.0,
        ),
    ),
    (
        '{"stream": "echo"}',
        envelope(
            None, 400, errors=['A multiplexed frame is {"stream": <name>, "payload": <frame>}.']
        ),
    ),
    (
        '{"stream": 3, "payload": {}}',
        envelope(
            None, 400, errors=['A multiplexed frame is {"stream": <name>, "payload": <frame>}.']
        ),
    ),
    (
        '{"stream": "nope", "payload": {"action": "echo", "request_id": 5}}',
        wrapped("nope", envelope("echo", 404, errors=['No stream "nope".'], request_id=5)),
    ),
    (
        '{"stream": "echo", "payload": [1]}',
        wrapped("echo", envelope(None, 400, errors=["A frame must be a JSON object."])),
    ),
    (
        '{"stream": "closed", "payload": {"action": "increment", "request_id": "c"}}',
        wrapped(
            "closed",
            envelope("increment", 403, errors=['Stream "closed" is not open.'], request_id="c"),
        ),
    ),
    (
        '{"stream": "echo", "payload": {"request_id": 9}}',
        wrapped(
            "echo",
            envelope(None, 405, errors=["Unable to find action in message body."], request_id=9),
        ),
    ),
    (
        '{"stream": "echo", "payload": {"action": "fail", "request_id": 1}}',
        wrapped("echo", envelope("fail", 500, errors=["A server error occurred."], request_id=1)),
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    BAD_FRAMES,
    ids=[
        "not-json",
        "empty",
        "array",
        "no-stream",
        "stream-null-payload-with-request-id",
        "no-payload",
        "stream-not-a-string",
        "unknown-stream",
        "payload-not-an-object",
        "refused-stream",
        "no-action",
        "crashing-action",
    ],
)
async def test_every_bad_frame_gets_an_error_frame_and_the_socket_stays(
    text: str, expected: JSONObject
) -> None:
    """A frame that cannot be routed, or fails in its stream, is answered; other streams and
    the socket go on."""
    async with ApiClient(App) as client:
        await client.send_text(text)
        assert await client.receive() == expected
        await client.send(wrapped("echo", {"action": "echo", "text": "still here"}))
        reply = cast("JSONObject", (await client.receive())["payload"])
        assert reply["data"] == "still here"


async def test_binary_frames_get_an_error_frame() -> None:
    """A binary frame is a 400 (channelsmultiplexer would drop the socket)."""
    async with ApiClient(App) as client:
        await client.send_bytes(b"\x00\x01")
        assert await client.receive() == envelope(
            None, 400, errors=["Binary frames are not supported; send JSON text frames."]
        )


@override_settings(TYPED_DCRF={"MAX_FRAME_BYTES": 100, "MAX_NESTING": 3})
async def test_frame_limits_apply_to_the_raw_frame() -> None:
    """The size and nesting limits count the whole multiplexed frame, not its payload."""
    small: JSONObject = {"action": "echo", "text": "x" * 40}
    nested: JSONObject = {"action": "echo", "text": "x", "request_id": [[1]]}  # 3 levels alone
    assert len(json.dumps(small)) < 100 < len(json.dumps(wrapped("echo", small)))
    async with ApiClient(App) as client:
        await client.send(wrapped("echo", small))
        assert await client.receive() == envelope(
            None, 400, errors=["A frame may be at most 100 bytes."]
        )
        await client.send(wrapped("echo", nested))
        assert await client.receive() == envelope(
            None, 400, errors=["A frame may nest at most 3 levels of arrays and objects."]
        )


async def test_a_layer_message_reaches_the_streams_consumer() -> None:
    """A group message reaches the stream consumer that joined the group; its push is framed
    for its stream."""
    async with ApiClient(App) as client:
        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send("announcements", {"type": "announcement", "text": "news"})
        pushed = await client.receive()
    assert pushed == wrapped("echo", envelope("announcement", 200, data="news"))


async def test_a_stream_that_closes_takes_no_more_frames() -> None:
    """A stream whose consumer closes is not open any more, and what it sends after closing
    goes nowhere, as on a plain socket; the socket stays for the others."""
    async with ApiClient(App) as client:
        await client.send(wrapped("echo", {"action": "leave"}))  # its 204 follows the close
        assert cast("JSONObject", (await client.receive())["payload"])["action"] == "leaving"
        await client.send(wrapped("echo", {"action": "echo", "text": "x"}))
        refused = cast("JSONObject", (await client.receive())["payload"])
        assert refused["errors"] == ['Stream "echo" is not open.']
        await client.send(wrapped("counter", {"action": "increment"}))
        assert cast("JSONObject", (await client.receive())["payload"])["data"] == 1


class OnlyEcho(Demultiplexer):
    streams = {"echo": Echo}


async def test_the_socket_closes_with_its_last_open_stream() -> None:
    """When the last open stream closes, the socket closes with its code (and, as on a plain
    socket, what the consumer sends after closing goes nowhere)."""
    async with ApiClient(OnlyEcho) as client:
        await client.send(wrapped("echo", {"action": "leave"}))
        assert cast("JSONObject", (await client.receive())["payload"])["action"] == "leaving"
        closed = await client.communicator.receive_output(1)
        assert await client.receive_nothing()
    assert closed == {"type": "websocket.close", "code": 1000}


class AllClosed(Demultiplexer):
    streams = {"a": Closed, "b": Closed}


async def test_a_socket_whose_streams_all_refuse_is_refused() -> None:
    """If no stream's consumer accepts the handshake, the socket is refused (4003)."""
    with pytest.raises(ConnectionRefused) as refused:
        async with ApiClient(AllClosed):
            pass
    assert refused.value.code == 4003


async def test_as_asgi_takes_streams_as_keywords() -> None:
    """Demultiplexer.as_asgi(name=Consumer) serves those streams, as channelsmultiplexer's."""
    app = Demultiplexer.as_asgi(echo=Echo)
    assert callable(app)

    class Keyworded(Demultiplexer):
        streams = {"counter": Counter}

    async with ApiClient(Keyworded, stream_name="counter") as client:
        assert (await client.call(Counter.increment)).data == 1


@pytest.mark.parametrize(
    ("streams", "message"),
    [
        ({"": Echo}, "stream names are non-empty strings"),
        ({"echo": Echo.as_asgi()}, "is not a consumer class"),
        ({"echo": object}, "is not a consumer class"),
    ],
)
def test_streams_must_name_consumer_classes(streams: dict[str, object], message: str) -> None:
    """A stream that is not named by a string, or not served by a consumer class, is refused
    when the class is created."""
    with pytest.raises(ImproperlyConfigured, match=message):
        type("Broken", (Demultiplexer,), {"streams": streams})


def test_a_demultiplexer_without_streams_is_refused() -> None:
    """as_asgi() of a Demultiplexer with no stream says how to name them."""
    with pytest.raises(ImproperlyConfigured, match="has no streams"):
        Demultiplexer.as_asgi()


class Stuck(AsyncAPIConsumer):
    """Never answers the handshake."""

    async def connect(self) -> None:
        await asyncio.Event().wait()


class Crashing(AsyncAPIConsumer):
    """A consumer that fails before it can answer anything."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("the consumer failed")


class Farewell(Echo):
    """Pushes a frame while the client is leaving: it reaches no one."""

    async def disconnect(self, code: int) -> None:
        await self.reply("bye")


class Unreliable(Demultiplexer):
    streams = {"stuck": Stuck, "crashing": Crashing, "farewell": Farewell}
    handshake_timeout = 0.2
    close_timeout = 0.2


async def test_streams_that_hang_or_fail_are_closed_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stream that does not answer the handshake in time, or whose consumer fails, is closed
    and logged; the socket serves the others, and a hung consumer is cancelled at the end."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        async with ApiClient(Unreliable) as client:
            for stream in ("stuck", "crashing"):
                await client.send(wrapped(stream, {"action": "echo", "request_id": stream}))
                refused = cast("JSONObject", (await client.receive())["payload"])
                assert refused["errors"] == [f'Stream "{stream}" is not open.']
            await client.send(wrapped("farewell", {"action": "echo", "text": "hi"}))
            assert cast("JSONObject", (await client.receive())["payload"])["data"] == "hi"
    messages = {record.getMessage() for record in caplog.records}
    assert messages == {
        "A stream of Unreliable did not answer the handshake",
        "The consumer of stream 'crashing' failed",
    }


class Greeter(AsyncAPIConsumer):
    """Sends a frame from connect(), with channels' own send(), and picks a subprotocol."""

    async def connect(self) -> None:
        await self.accept(subprotocol="dcrf")
        await self.send(text_data='{"hello": "from connect"}')


class Greeting(Demultiplexer):
    streams = {"greeter": Greeter, "echo": Echo}


async def test_frames_sent_while_connecting_arrive_after_the_accept() -> None:
    """What a stream sends in connect() reaches the client after the socket's accept, which
    carries the first accepting stream's subprotocol; channels' send() is framed too."""
    client = ApiClient(Greeting)
    await client.communicator.send_input({"type": "websocket.connect"})
    accepted = await client.communicator.receive_output(1)
    assert accepted == {"type": "websocket.accept", "subprotocol": "dcrf"}
    assert await client.receive() == wrapped("greeter", {"hello": "from connect"})
    await client.__aexit__(None, None, None)


HELD = asyncio.Event()


class Holding(AsyncAPIConsumer):
    @action
    async def hold(self) -> Response[None]:
        await HELD.wait()
        return Response.no_content()


class Backlogged(Demultiplexer):
    streams = {"slow": Holding, "echo": Echo}


async def test_a_full_stream_makes_the_socket_wait_as_a_plain_one_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Frames waiting for one stream's consumer are bounded (STREAM_BACKLOG); beyond them the
    socket is not read until they drain, so memory stays bounded. Nothing is lost."""
    monkeypatch.setattr("typed_dcrf.multiplex.STREAM_BACKLOG", 2)
    HELD.clear()
    async with ApiClient(Backlogged) as client:
        for number in range(4):  # one running, two waiting, one the socket holds back
            await client.send(wrapped("slow", {"action": "hold", "request_id": number}))
        await client.send(wrapped("echo", {"action": "echo", "text": "x", "request_id": "e"}))
        assert await client.receive_nothing(0.2)  # the echo waits behind the full stream
        HELD.set()
        replies = [await client.receive() for _ in range(5)]
    ids = [cast("JSONObject", reply["payload"])["request_id"] for reply in replies]
    assert sorted(ids, key=str) == [0, 1, 2, 3, "e"]
