"""Wire protocol v1: the five-key envelope, request_id echo, 405s and malformed frames."""

from __future__ import annotations

import pytest
from django.test import override_settings

from typed_dcrf import AsyncAPIConsumer, Response, action
from typed_dcrf.consumers import MESSAGE_TOO_BIG
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONValue

ENVELOPE_KEYS = {"errors", "data", "action", "response_status", "request_id"}


class EchoConsumer(AsyncAPIConsumer):
    @action()
    async def echo(self, text: str) -> Response[str]:
        return Response.ok(text)


async def assert_still_open(client: ApiClient) -> None:
    """The connection keeps answering after whatever came before."""
    reply = await client.call(EchoConsumer.echo, text="still here")
    assert reply.data == "still here"


async def test_success_reply_has_exactly_the_five_keys() -> None:
    """A success reply carries errors [], data, action, response_status and request_id."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"action": "echo", "text": "hi", "request_id": 7})
        assert await client.receive() == {
            "errors": [],
            "data": "hi",
            "action": "echo",
            "response_status": 200,
            "request_id": 7,
        }


@pytest.mark.parametrize(
    "request_id",
    [0, "abc", 1.5, None, True, [1, "two"], {"nested": {"id": 3}}, ""],
)
async def test_request_id_is_echoed_verbatim(request_id: JSONValue) -> None:
    """Any JSON value given as request_id comes back unchanged."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"action": "echo", "text": "x", "request_id": request_id})
        reply = await client.receive()
        assert reply["request_id"] == request_id
        assert type(reply["request_id"]) is type(request_id)


async def test_absent_request_id_is_null() -> None:
    """A frame without request_id gets request_id null."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"action": "echo", "text": "x"})
        reply = await client.receive()
        assert reply["request_id"] is None
        assert set(reply) == ENVELOPE_KEYS


async def test_unknown_action_is_405_echoing_the_action() -> None:
    """An unknown action name is a 405 naming it, with the action echoed."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"action": "nope", "request_id": 1})
        assert await client.receive() == {
            "errors": ['Method "nope" not allowed.'],
            "data": None,
            "action": "nope",
            "response_status": 405,
            "request_id": 1,
        }
        await assert_still_open(client)


async def test_missing_action_is_405_with_action_null() -> None:
    """A frame without an action key is a 405 with action null."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"text": "x", "request_id": 2})
        reply = await client.receive()
        assert reply["response_status"] == 405
        assert reply["action"] is None
        assert reply["request_id"] == 2
        await assert_still_open(client)


@pytest.mark.parametrize("bad_action", [3, ["echo"], {"name": "echo"}, True])
async def test_non_string_action_is_400(bad_action: JSONValue) -> None:
    """An action that is not a string is a 400 with action null."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"action": bad_action, "request_id": 3})
        reply = await client.receive()
        assert reply["response_status"] == 400
        assert reply["action"] is None
        assert reply["errors"] == ['"action" must be a string.']
        assert reply["request_id"] == 3
        await assert_still_open(client)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "Malformed JSON."),
        ("  ", "Malformed JSON."),
        ("[1, 2]", "A frame must be a JSON object."),
        ('"echo"', "A frame must be a JSON object."),
        ("null", "A frame must be a JSON object."),
        ("[" * 100_000 + "]" * 100_000, "Malformed JSON."),
    ],
    ids=["broken", "blank", "array", "string", "null", "deeply-nested"],
)
async def test_malformed_frames_are_400_and_keep_the_connection(text: str, message: str) -> None:
    """Text that is not a JSON object gets a 400 envelope; the socket stays open."""
    async with ApiClient(EchoConsumer) as client:
        await client.send_text(text)
        assert await client.receive() == {
            "errors": [message],
            "data": None,
            "action": None,
            "response_status": 400,
            "request_id": None,
        }
        await assert_still_open(client)


async def test_binary_frames_are_400() -> None:
    """Binary frames are refused with a 400 envelope; the socket stays open."""
    async with ApiClient(EchoConsumer) as client:
        await client.send_bytes(b'{"action": "echo", "text": "x"}')
        reply = await client.receive()
        assert reply["response_status"] == 400
        assert reply["errors"] == ["Binary frames are not supported; send JSON text frames."]
        await assert_still_open(client)


@override_settings(TYPED_DCRF={"MAX_FRAME_BYTES": 64})
async def test_oversized_frame_closes_with_1009() -> None:
    """A frame over MAX_FRAME_BYTES closes the connection with code 1009."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"action": "echo", "text": "é" * 40})
        closed = await client.communicator.receive_output(1)
        assert closed == {"type": "websocket.close", "code": MESSAGE_TOO_BIG}


@override_settings(TYPED_DCRF={"MAX_FRAME_BYTES": 64})
async def test_frame_at_the_size_limit_is_served() -> None:
    """A frame just under the limit is answered normally."""
    async with ApiClient(EchoConsumer) as client:
        reply = await client.call(EchoConsumer.echo, text="short")
        assert reply.data == "short"
