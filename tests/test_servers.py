"""Real servers: uvicorn and daphne on 127.0.0.1, driven by a real websocket client, on the
plain and the multiplexed route (the `server` fixture is in conftest.py). Every frame gets its
answer; no socket is dropped."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Literal, cast

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from tests.frames import envelope
from tests.server.process import Running
from typed_dcrf.types import JSONObject, JSONValue

FRAME_LIMIT = 65_536
"""MAX_FRAME_BYTES in tests/server/settings.py."""
DAPHNE_CAP = 1_048_576
"""daphne's own default cap on a message (--websocket-max-message-size)."""
UVICORN_CAP = 16_777_216
"""uvicorn's own default cap on a message (--ws-max-size)."""
TIMEOUT = 10.0
"""Seconds for any one reply: far more than one needs, so only a lost reply fails."""

Route = Literal["plain", "multiplexed"]


@asynccontextmanager
async def socket_to(running: Running, route: Route) -> AsyncGenerator[ClientConnection]:
    path = "/ws/items/" if route == "plain" else "/ws/"
    url = f"ws://127.0.0.1:{running.port}{path}"
    async with connect(url, compression=None, proxy=None, max_size=None, close_timeout=2) as client:
        yield client


def framed(route: Route, payload: JSONObject) -> str:
    """``payload`` as the route expects it: as it is, or in the ``items`` stream."""
    return json.dumps(payload if route == "plain" else {"stream": "items", "payload": payload})


async def receive(client: ClientConnection, route: Route) -> JSONObject:
    """The next reply, taken out of its ``items`` stream frame on the multiplexed route."""
    async with asyncio.timeout(TIMEOUT):
        text = await client.recv()
    frame = cast("JSONObject", json.loads(text))
    if route == "multiplexed" and frame.get("stream") == "items":
        return cast("JSONObject", frame["payload"])
    return frame


async def ask(client: ClientConnection, route: Route, payload: JSONObject) -> JSONObject:
    await client.send(framed(route, payload))
    return await receive(client, route)


async def assert_still_open(client: ClientConnection, route: Route) -> None:
    reply = await ask(client, route, {"action": "add", "a": 1, "b": 2, "request_id": "alive"})
    assert reply == envelope("add", 200, data=3.0, request_id="alive")


ROUTES = pytest.mark.parametrize("route", ["plain", "multiplexed"])


@ROUTES
async def test_crud_and_a_custom_action(server: Running, route: Route) -> None:
    """create, list, retrieve, patch, update, delete and a typed custom action, frame by frame."""
    slug = f"{server.kind}-{route}"
    async with socket_to(server, route) as client:
        data: JSONObject = {"name": "milk", "slug": slug}
        created = await ask(client, route, {"action": "create", "data": data, "request_id": 1})
        row = cast("JSONObject", created["data"])
        pk = row["id"]
        assert created == envelope("create", 201, data=row, request_id=1)
        assert (row["name"], row["slug"], row["done"]) == ("milk", slug, False)
        listed = await ask(client, route, {"action": "list", "request_id": 2})
        assert row in cast("list[JSONValue]", listed["data"])
        retrieved = await ask(client, route, {"action": "retrieve", "pk": pk, "request_id": 3})
        assert retrieved == envelope("retrieve", 200, data=row, request_id=3)
        patch: JSONObject = {"action": "patch", "pk": pk, "data": {"done": True}, "request_id": 4}
        patched = await ask(client, route, patch)
        assert cast("JSONObject", patched["data"])["done"] is True
        update: JSONObject = {"action": "update", "pk": pk, "data": {**data, "name": "oat milk"}}
        updated = await ask(client, route, update)
        assert cast("JSONObject", updated["data"])["name"] == "oat milk"
        deleted = await ask(client, route, {"action": "delete", "pk": pk, "request_id": 6})
        assert deleted == envelope("delete", 204, request_id=6)
        missing = await ask(client, route, {"action": "retrieve", "pk": pk, "request_id": 7})
        assert missing == envelope("retrieve", 404, errors=["Not found"], request_id=7)
        assert await ask(client, route, {"action": "add", "a": 0.5, "b": 2}) == envelope(
            "add", 200, data=2.5
        )


MALFORMED: list[tuple[str, str | bytes, JSONObject]] = [
    ("invalid-json", "{not json", envelope(None, 400, errors=["Malformed JSON."])),
    ("empty", "", envelope(None, 400, errors=["Malformed JSON."])),
    ("array", "[1, 2]", envelope(None, 400, errors=["A frame must be a JSON object."])),
    (
        "binary",
        b'{"action": "add"}',
        envelope(None, 400, errors=["Binary frames are not supported; send JSON text frames."]),
    ),
    (
        "oversize",
        json.dumps({"action": "add", "a": 1, "b": 2, "pad": "x" * FRAME_LIMIT}),
        envelope(None, 400, errors=[f"A frame may be at most {FRAME_LIMIT} bytes."]),
    ),
]


@ROUTES
@pytest.mark.parametrize(("case", "frame", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_frames_are_answered_and_the_socket_stays(
    server: Running, route: Route, case: str, frame: str | bytes, expected: JSONObject
) -> None:
    """Every malformed frame gets its 400 on both servers and both routes; the socket stays."""
    async with socket_to(server, route) as client:
        await client.send(frame)
        async with asyncio.timeout(TIMEOUT):
            assert json.loads(await client.recv()) == expected
        await assert_still_open(client, route)


MULTIPLEXED_ONLY: list[tuple[str, str, JSONObject]] = [
    (
        "missing-stream",
        json.dumps({"payload": {"action": "add"}}),
        envelope(
            "add", 400, errors=['A multiplexed frame is {"stream": <name>, "payload": <frame>}.']
        ),
    ),
    (
        "unknown-stream",
        json.dumps({"stream": "nope", "payload": {"action": "add", "request_id": 3}}),
        {
            "stream": "nope",
            "payload": envelope("add", 404, errors=['No stream "nope".'], request_id=3),
        },
    ),
]


@pytest.mark.parametrize(
    ("case", "frame", "expected"), MULTIPLEXED_ONLY, ids=[m[0] for m in MULTIPLEXED_ONLY]
)
async def test_unroutable_multiplexed_frames_are_answered(
    server: Running, case: str, frame: str, expected: JSONObject
) -> None:
    """A frame with no stream, or an unknown one, gets an error frame; the socket stays."""
    async with socket_to(server, "multiplexed") as client:
        await client.send(frame)
        async with asyncio.timeout(TIMEOUT):
            assert json.loads(await client.recv()) == expected
        await assert_still_open(client, "multiplexed")


@ROUTES
async def test_missing_action_and_crashing_action(server: Running, route: Route) -> None:
    """No action is a 405 in DCRF's words; a crashing action a masked 500; the socket stays."""
    async with socket_to(server, route) as client:
        no_action = await ask(client, route, {"request_id": 1})
        assert no_action == envelope(
            None, 405, errors=["Unable to find action in message body."], request_id=1
        )
        crashed = await ask(client, route, {"action": "crash", "request_id": 2})
        assert crashed == envelope("crash", 500, errors=["A server error occurred."], request_id=2)
        await assert_still_open(client, route)


@ROUTES
async def test_twenty_concurrent_clients_get_every_reply_in_order(
    server: Running, route: Route
) -> None:
    """20 clients at once, 25 pipelined requests each: each gets all its replies, in order."""

    async def one_client(number: int) -> list[JSONValue]:
        async with socket_to(server, route) as client:
            for index in range(25):
                await client.send(
                    framed(route, {"action": "add", "a": number, "b": index, "request_id": index})
                )
            replies = [await receive(client, route) for _ in range(25)]
        assert [reply["data"] for reply in replies] == [float(number + i) for i in range(25)]
        return [reply["request_id"] for reply in replies]

    results = await asyncio.gather(*(one_client(number) for number in range(20)))
    assert results == [list(range(25))] * 20


@ROUTES
async def test_a_frame_over_daphnes_cap(server: Running, route: Route) -> None:
    """Above daphne's own 1 MiB cap, daphne drops the connection before typed_dcrf sees the
    frame (as the README says); uvicorn, whose cap is 16 MiB, passes it on: a 400."""
    frame = json.dumps({"action": "add", "pad": "x" * DAPHNE_CAP})
    async with socket_to(server, route) as client:
        await client.send(frame)
        if server.kind == "daphne":
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(TIMEOUT):
                    await client.recv()
        else:
            async with asyncio.timeout(TIMEOUT):
                reply = json.loads(await client.recv())
            assert reply == envelope(
                None, 400, errors=[f"A frame may be at most {FRAME_LIMIT} bytes."]
            )
            await assert_still_open(client, route)


async def test_a_frame_over_uvicorns_cap_closes_with_1009(server: Running) -> None:
    """Above uvicorn's own 16 MiB cap, uvicorn closes the connection with 1009 (message too
    big) before typed_dcrf sees the frame, as the README says."""
    if server.kind != "uvicorn":
        pytest.skip("uvicorn's own cap")
    async with socket_to(server, "plain") as client:
        frame = json.dumps({"action": "add", "pad": "x" * UVICORN_CAP})
        sending = asyncio.create_task(client.send(frame))  # uvicorn closes while it is sent
        async with asyncio.timeout(TIMEOUT):
            # websockets offers no event for a close frame received while sending: polled.
            while (close := client.protocol.close_rcvd) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert close.code == 1009


class NonReadingClient:
    """A websocket client on a blocking socket with a tiny receive buffer, that reads only
    when told to (websockets' own clients read ahead into memory, whatever they are asked)."""

    def __init__(self, port: int, path: str) -> None:
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.socket.settimeout(TIMEOUT)
        self.socket.connect(("127.0.0.1", port))
        self.protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}{path}"), max_size=None)
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        self._events: list[Frame] = []
        while self.protocol.state is State.CONNECTING:
            self._read()

    def send(self, frame: JSONObject) -> None:
        self.protocol.send_text(json.dumps(frame).encode())
        self._flush()

    def receive(self) -> Frame:
        """The next frame: a text frame, or the close frame."""
        while not self._events:
            self._read()
        return self._events.pop(0)

    def _read(self) -> None:
        data = self.socket.recv(65536)
        if not data:
            raise EOFError("the server closed the socket")
        self.protocol.receive_data(data)
        self._events += [
            event for event in self.protocol.events_received() if isinstance(event, Frame)
        ]

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            self.socket.sendall(data)


async def test_a_client_that_never_reads_is_closed_with_4429(server: Running) -> None:
    """On uvicorn, whose buffer typed_dcrf can see: while it holds more than
    OUTGOING_HIGH_WATER for a client that reads nothing, events wait in typed_dcrf, the latest
    per row; once more rows' wait than MAX_OUTGOING_EVENTS (16 here), the client is closed with
    4429. (daphne's buffer cannot be seen: its ping timeout ends such a client.)"""
    if server.kind != "uvicorn":
        pytest.skip("uvicorn's buffer can be seen; daphne's cannot")
    url = f"ws://127.0.0.1:{server.port}/ws/boards/"
    reader = await asyncio.to_thread(NonReadingClient, server.port, "/ws/boards/")
    async with connect(url, proxy=None, close_timeout=2) as editor:
        pks: list[JSONValue] = []
        for number in range(40):
            await editor.send(json.dumps({"action": "create", "data": {"name": f"b{number}"}}))
            pks.append(cast("JSONObject", json.loads(await editor.recv())["data"])["id"])
        for pk in pks:
            subscribe: JSONObject = {"action": "subscribe_instance", "pk": pk, "request_id": pk}
            await asyncio.to_thread(reader.send, subscribe)
            await asyncio.to_thread(reader.receive)
        # The reader reads no more; every board gets 60 KB of notes, four times.
        for round_number in range(4):
            for pk in pks:
                notes = str(round_number) * 60_000
                await editor.send(
                    json.dumps({"action": "patch", "pk": pk, "data": {"notes": notes}})
                )
                assert json.loads(await editor.recv())["response_status"] == 200
    frames = 0
    with reader.socket:
        while (frame := await asyncio.to_thread(reader.receive)).opcode is Opcode.TEXT:
            frames += 1
    assert frame.opcode is Opcode.CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 4429
    assert frames < 160  # not every event: those that waited were dropped


FAIRNESS_BOUND = 2.0
"""Seconds another client's reply may take while one client floods: a few milliseconds are
usual; what this rules out is a reply waiting behind the flooder's frames."""
FLOOD = 5_000
"""At most this many frames from the flooder (it stops when the other client is done)."""


async def flood(client: ClientConnection, done: asyncio.Event) -> int:
    """Send frames as fast as the socket takes them until ``done``; the number sent."""
    sent = 0
    while not done.is_set() and sent < FLOOD:
        await client.send(framed("plain", {"action": "add", "a": 1, "b": 1, "request_id": sent}))
        sent += 1
        if sent % 50 == 0:
            await asyncio.sleep(0)  # the other client's task runs in this process too
    return sent


async def test_a_flooding_client_does_not_delay_another_beyond_a_bound(server: Running) -> None:
    """While one connection sends frames as fast as it can, another's calls are each answered
    within FAIRNESS_BOUND; afterwards every flooded frame has its reply, in order."""
    async with socket_to(server, "plain") as flooder, socket_to(server, "plain") as other:
        done = asyncio.Event()
        flooding = asyncio.create_task(flood(flooder, done))
        await asyncio.sleep(0.05)  # the flood is under way
        waits: list[float] = []
        for n in range(10):
            started = time.monotonic()
            reply = await ask(other, "plain", {"action": "add", "a": n, "b": 1, "request_id": n})
            waits.append(time.monotonic() - started)
            assert reply == envelope("add", 200, data=n + 1.0, request_id=n)
        done.set()
        sent = await flooding
        assert sent > 100, "the flood was not under way while the other client called"
        assert max(waits) < FAIRNESS_BOUND, waits
        for request_id in range(sent):
            reply = await receive(flooder, "plain")
            assert reply == envelope("add", 200, data=2.0, request_id=request_id)


async def test_a_throttled_route_answers_429_with_the_wait(server: Running) -> None:
    """Past its rate (5 a minute per connection) an action is a 429 with ``data.wait``; the
    connection stays open, and a new connection has its own allowance."""
    url = f"ws://127.0.0.1:{server.port}/ws/throttled/"
    async with connect(url, proxy=None) as client:
        for n in range(5):
            await client.send(json.dumps({"action": "echo", "text": str(n), "request_id": n}))
            assert (await receive(client, "plain"))["data"] == str(n)
        await client.send(json.dumps({"action": "echo", "text": "x", "request_id": 5}))
        refused = await receive(client, "plain")
        data = refused["data"]
        assert isinstance(data, dict)
        wait = data["wait"]
        assert isinstance(wait, int)
        assert 0 < wait <= 60
        errors: list[JSONValue] = [f"Request was throttled. Expected available in {wait} seconds."]
        assert refused == envelope("echo", 429, data={"wait": wait}, errors=errors, request_id=5)
    async with connect(url, proxy=None) as fresh:
        await fresh.send(json.dumps({"action": "echo", "text": "again", "request_id": 0}))
        assert (await receive(fresh, "plain"))["data"] == "again"
