"""Consumer seams: handle_frame takes decoded frames, send_envelope sends every frame, reply and
send_json push, and channel layer handlers never close the socket."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from typed_dcrf import AsyncAPIConsumer, NotFound, Response, action
from typed_dcrf.testing import ApiClient, ConnectionRefused
from typed_dcrf.types import JSONObject


@dataclass
class Note:
    text: str


class Pushing(AsyncAPIConsumer):
    @action
    async def echo(self, text: str) -> Response[str]:
        return Response.ok(text)

    @action
    async def announce(self, text: str) -> Response[None]:
        await self.reply("announcement", Note(text), request_id="push")
        await self.send_json({"raw": [1, 2]})
        await self.reply("warning", errors=["Careful."], status=409)
        return Response.no_content()

    @action
    async def goodbye(self) -> Response[None]:
        await self.send_json({"bye": True}, close=True)
        return Response.no_content()

    @action
    async def announce_infinity(self) -> Response[None]:
        await self.reply("announcement", {"value": float("inf")})
        return Response.no_content()

    async def chat_message(self, message: dict[str, Any]) -> None:
        await self.reply("chat", message["text"])

    async def broken_message(self, message: dict[str, Any]) -> None:
        raise RuntimeError("secret: handler failed")

    async def missing_message(self, message: dict[str, Any]) -> None:
        raise NotFound


async def test_reply_and_send_json_push_frames_before_the_reply() -> None:
    """reply() pushes DCRF's five-key envelope (any serializable data, or errors with a
    status); send_json() pushes any JSON value; the action's own reply follows."""
    async with ApiClient(Pushing) as client:
        await client.send({"action": "announce", "text": "hi", "request_id": 1})
        frames = [await client.receive() for _ in range(4)]
    assert frames == [
        {
            "errors": [],
            "data": {"text": "hi"},
            "action": "announcement",
            "response_status": 200,
            "request_id": "push",
        },
        {"raw": [1, 2]},
        {
            "errors": ["Careful."],
            "data": None,
            "action": "warning",
            "response_status": 409,
            "request_id": None,
        },
        {"errors": [], "data": None, "action": "announce", "response_status": 204, "request_id": 1},
    ]


async def test_send_json_may_close_the_connection_after_the_frame() -> None:
    """send_json(value, close=True) sends the frame, then closes, as channels' does."""
    async with ApiClient(Pushing) as client:
        await client.send({"action": "goodbye"})
        assert await client.receive() == {"bye": True}
        closed = await client.communicator.receive_output(1)
    assert closed == {"type": "websocket.close"}


async def test_pushing_inf_is_the_actions_500() -> None:
    """A pushed value holding inf is refused like a reply's: the action answers 500."""
    async with ApiClient(Pushing) as client:
        await client.send({"action": "announce_infinity", "request_id": 1})
        reply = await client.receive()
    assert (reply["response_status"], reply["errors"]) == (500, ["A server error occurred."])


async def test_layer_handlers_push_through_the_consumer() -> None:
    """A channel layer message reaches its handler, which may push frames."""
    async with ApiClient(Pushing) as client:
        await client.communicator.send_input({"type": "chat.message", "text": "hello"})
        assert (await client.receive())["data"] == "hello"


@pytest.mark.parametrize(
    ("message_type", "level", "logged"),
    [
        ("broken.message", logging.ERROR, "Unhandled exception in the handler of 'broken.message'"),
        (
            "missing.message",
            logging.WARNING,
            "The handler of 'missing.message' raised NotFound('Not found.')",
        ),
        (
            "no.such.message",
            logging.ERROR,
            "Unhandled exception in the handler of 'no.such.message'",
        ),
    ],
    ids=["server-error", "client-error", "no-handler"],
)
async def test_a_failing_or_missing_layer_handler_is_logged_and_the_socket_stays(
    message_type: str, level: int, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in a channel layer handler, or a type with no handler, is logged; the
    connection keeps answering and nothing reaches the client."""
    with caplog.at_level(logging.WARNING, logger="typed_dcrf"):
        async with ApiClient(Pushing) as client:
            await client.communicator.send_input({"type": message_type})
            assert await client.receive_nothing()
            assert (await client.call(Pushing.echo, text="still here")).data == "still here"
    [record] = caplog.records
    assert (record.levelno, record.getMessage()) == (level, logged)


class DefaultAction(Pushing):
    """Frames without an action are echoes: a subclass adapting frames in handle_frame."""

    async def handle_frame(self, frame: JSONObject) -> None:
        frame.setdefault("action", "echo")
        await super().handle_frame(frame)


async def test_handle_frame_is_the_one_seam_for_decoded_frames() -> None:
    """Overriding handle_frame adapts every decoded frame before the pipeline sees it."""
    async with ApiClient(DefaultAction) as client:
        await client.send({"text": "defaulted", "request_id": 3})
        reply = await client.receive()
    assert (reply["action"], reply["data"]) == ("echo", "defaulted")


SENT: list[str] = []


class Recording(Pushing):
    """Records every frame it sends."""

    async def send_envelope(self, text: str) -> None:
        SENT.append(text)
        await super().send_envelope(text)


async def test_send_envelope_sees_every_frame_sent() -> None:
    """Replies, error replies, malformed-frame replies and pushes all go through send_envelope."""
    SENT.clear()
    async with ApiClient(Recording) as client:
        await client.send({"action": "announce", "text": "hi"})
        await client.send({"action": "nope"})
        await client.send_text("{not json")
        await client.communicator.send_input({"type": "chat.message", "text": "hello"})
        received = [await client.receive() for _ in range(7)]
    assert len(SENT) == 7
    assert [frame.get("action") for frame in received] == [
        "announcement",
        None,
        "warning",
        "announce",
        "nope",
        None,
        "chat",
    ]


class FailingDisconnect(Pushing):
    async def disconnect(self, code: int) -> None:
        raise RuntimeError("secret: the cache is down")


class FailingConnect(Pushing):
    async def connect(self) -> None:
        raise RuntimeError("secret: the session store is down")


async def test_a_failing_disconnect_still_ends_the_consumer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception in disconnect() is logged, and the consumer ends all the same (it would
    otherwise answer the server's disconnect forever)."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        async with ApiClient(FailingDisconnect) as client:
            assert (await client.call(Pushing.echo, text="hi")).data == "hi"
    [record] = caplog.records
    assert record.getMessage() == "The disconnect of FailingDisconnect failed"


async def test_a_failing_connect_refuses_the_handshake(caplog: pytest.LogCaptureFixture) -> None:
    """An exception in connect() refuses the handshake (4003) and is logged; the client does
    not wait for an answer that never comes."""
    with (
        caplog.at_level(logging.ERROR, logger="typed_dcrf"),
        pytest.raises(ConnectionRefused) as refused,
    ):
        async with ApiClient(FailingConnect):
            pass
    assert refused.value.code == 4003
    [record] = caplog.records
    assert record.getMessage() == "The handshake of FailingConnect failed"
