"""Wire protocol v1: the five-key envelope, request_id echo, 405s and malformed frames."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from typed_dcrf import AsyncAPIConsumer, Response, action
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONValue

DEEP = "A frame may nest at most 32 levels of arrays and objects."
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
    """A frame without an action key is a 405 with action null, in DCRF's words."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"text": "x", "request_id": 2})
        assert await client.receive() == {
            "errors": ["Unable to find action in message body."],
            "data": None,
            "action": None,
            "response_status": 405,
            "request_id": 2,
        }
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
        ('{"action": "echo", "text": "x", "request_id": NaN}', "Malformed JSON."),
        ('{"action": "echo", "text": "x", "request_id": -Infinity}', "Malformed JSON."),
        ('{"action": "echo", "text": "x", "request_id": 1e400}', "Malformed JSON."),
        ('{"action": "echo", "text": "\\ud800"}', "Malformed JSON."),
        ('{"action": "echo", "text": "x", "request_id": ' + "[" * 33 + "]" * 33 + "}", DEEP),
    ],
    ids=[
        "broken",
        "blank",
        "array",
        "string",
        "null",
        "deeply-nested",
        "nan",
        "infinity",
        "overflowing-float",
        "lone-surrogate",
        "nested-past-the-limit",
    ],
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


async def test_frames_at_the_nesting_limit_and_surrogate_pairs_are_served() -> None:
    """32 levels of nesting pass, and an escaped surrogate pair is one valid character."""
    nested = "[" * 31 + "]" * 31  # inside the frame object: 32 levels
    async with ApiClient(EchoConsumer) as client:
        smiley = r"\ud83d\ude00"
        await client.send_text(f'{{"action": "echo", "text": "{smiley}", "request_id": {nested}}}')
        reply = await client.receive()
    assert reply["data"] == "\U0001f600"
    assert reply["request_id"] == json.loads(nested)


async def test_binary_frames_are_400() -> None:
    """Binary frames are refused with a 400 envelope; the socket stays open."""
    async with ApiClient(EchoConsumer) as client:
        await client.send_bytes(b'{"action": "echo", "text": "x"}')
        reply = await client.receive()
        assert reply["response_status"] == 400
        assert reply["errors"] == ["Binary frames are not supported; send JSON text frames."]
        await assert_still_open(client)


@override_settings(TYPED_DCRF={"MAX_FRAME_BYTES": 64})
async def test_oversized_frame_is_400_and_keeps_the_connection() -> None:
    """A frame over MAX_FRAME_BYTES in UTF-8 (though not in characters) is a 400, unparsed."""
    frame = '{"action":"echo","text":"' + "é" * 19 + '","request_id":1}'
    assert len(frame) < 64 < len(frame.encode())
    async with ApiClient(EchoConsumer) as client:
        await client.send_text(frame)
        assert await client.receive() == {
            "errors": ["A frame may be at most 64 bytes."],
            "data": None,
            "action": None,
            "response_status": 400,
            "request_id": None,
        }
        await assert_still_open(client)


@override_settings(TYPED_DCRF={"MAX_FRAME_BYTES": 64})
async def test_frame_at_the_size_limit_is_served() -> None:
    """A frame of exactly MAX_FRAME_BYTES is answered normally."""
    frame = '{"action":"echo","text":"' + "é" * 18 + 'a"}'
    assert len(frame.encode()) == 64
    async with ApiClient(EchoConsumer) as client:
        await client.send_text(frame)
        assert (await client.receive())["data"] == "é" * 18 + "a"


class Sums(AsyncAPIConsumer):
    @action()
    async def total(self, a: int = 0, b: int = 0, c: int = 0, d: int = 0) -> Response[int]:
        return Response.ok(a + b + c + d)


@override_settings(TYPED_DCRF={"MAX_ARGUMENTS": 3})
async def test_a_frame_past_max_arguments_is_400_before_validation() -> None:
    """MAX_ARGUMENTS keys beside action and request_id are served; one more is a 400 naming the
    limit alone (not one error per key), with the request_id echoed."""
    async with ApiClient(Sums) as client:
        await client.send({"action": "total", "request_id": 1, "a": 1, "b": 2, "c": 3})
        assert (await client.receive())["data"] == 6
        await client.send({"action": "total", "request_id": 2, "a": 1, "b": 2, "c": 3, "d": 4})
        assert await client.receive() == {
            "errors": ["An action takes at most 3 arguments."],
            "data": None,
            "action": "total",
            "response_status": 400,
            "request_id": 2,
        }


async def test_unknown_keys_past_the_default_limit_get_one_error() -> None:
    """Thousands of unknown keys get one short error, not one per key."""
    async with ApiClient(EchoConsumer) as client:
        await client.send({"action": "echo", "request_id": 1, **{f"k{i}": i for i in range(5000)}})
        reply = await client.receive()
        assert reply["errors"] == ["An action takes at most 64 arguments."]
        await assert_still_open(client)
