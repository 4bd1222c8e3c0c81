"""The typed test client: calls, raw frames, scope user, refused connections, clean close."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from dataclasses import dataclass

import channels.db
import django.db
import pytest
from django.contrib.auth.models import AnonymousUser, User

from typed_dcrf import (
    AsyncAPIConsumer,
    BasePermission,
    Demultiplexer,
    NotFound,
    Response,
    action,
    db,
)
from typed_dcrf.testing import ApiClient, ConnectionRefused, ErrorReply
from typed_dcrf.types import Scope


@dataclass
class Meeting:
    title: str
    at: dt.datetime


class RefuseAll(BasePermission):
    def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return False


disconnects: list[int] = []


class ClientConsumer(AsyncAPIConsumer):
    @action
    async def schedule(self, title: str, at: dt.datetime) -> Response[Meeting]:
        return Response.created(Meeting(title, at + dt.timedelta(hours=1)))

    @action
    async def username(self) -> Response[str]:
        return Response.ok(self.user.get_username() or "anonymous")

    @action
    async def route(self) -> Response[str]:
        if "url_route" not in self.scope:
            raise NotFound
        return Response.ok(str(self.scope["url_route"]["kwargs"]["room"]))

    async def disconnect(self, code: int) -> None:
        disconnects.append(code)


class RefusingConsumer(AsyncAPIConsumer):
    permission_classes = (RefuseAll,)


async def test_call_sends_arguments_as_json_and_parses_the_reply() -> None:
    """Arguments are JSON-encoded (datetimes too) and data comes back as T."""
    at = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)
    async with ApiClient(ClientConsumer) as client:
        reply = await client.call(ClientConsumer.schedule, title="standup", at=at)
        positional = await client.call(ClientConsumer.schedule, "retro", at)
    assert reply == Response(Meeting("standup", at + dt.timedelta(hours=1)), 201)
    assert positional.data.title == "retro"


async def test_call_skips_replies_meant_for_other_requests() -> None:
    """A reply to another request_id is kept for receive(), in order, not mistaken."""
    async with ApiClient(ClientConsumer) as client:
        await client.send({"action": "username", "request_id": 1})
        await client.send({"action": "username", "request_id": "1"})
        reply = await client.call(ClientConsumer.username)
        assert reply.data == "anonymous"
        assert not await client.receive_nothing()
        assert (await client.receive())["request_id"] == 1
        assert (await client.receive())["request_id"] == "1"
        assert await client.receive_nothing()


async def test_scope_user_is_set_by_the_client() -> None:
    """user= puts the user in the scope, as channels' AuthMiddleware would."""
    user = User(username="alice")
    async with ApiClient(ClientConsumer, user=user) as client:
        assert (await client.call(ClientConsumer.username)).data == "alice"
    async with ApiClient(ClientConsumer, user=AnonymousUser()) as client:
        assert (await client.call(ClientConsumer.username)).data == "anonymous"


async def test_extra_scope_keys_reach_the_consumer() -> None:
    """scope= adds keys such as url_route to the connection's scope."""
    scope = {"url_route": {"args": (), "kwargs": {"room": "lobby"}}}
    async with ApiClient(ClientConsumer, scope=scope) as client:
        assert (await client.call(ClientConsumer.route)).data == "lobby"


async def test_refused_connection_raises() -> None:
    """A refused handshake raises ConnectionRefused with the close code."""
    with pytest.raises(ConnectionRefused) as caught:
        async with ApiClient(RefusingConsumer):
            pass
    assert caught.value.code == 4003


async def test_error_replies_raise_error_reply() -> None:
    """A 4xx reply raises ErrorReply carrying status and errors."""
    async with ApiClient(ClientConsumer) as client:
        with pytest.raises(ErrorReply) as caught:
            await client.call(ClientConsumer.schedule, title="x", at="never")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert caught.value.status == 400
    assert caught.value.errors == [
        {"at": ["Input should be a valid datetime or date, input is too short."]}
    ]


async def test_leaving_the_block_closes_the_connection() -> None:
    """The context manager disconnects and waits for the consumer to finish."""
    disconnects.clear()
    async with ApiClient(ClientConsumer):
        assert disconnects == []
    assert disconnects == [1000]


async def test_clients_awaiting_at_once_leave_close_old_connections_as_it_was() -> None:
    """Two clients awaiting together keep stale connections open while they await, and
    channels' close_old_connections is itself again once both are done."""
    kept = vars(channels.db)  # the stubs do not list what channels.db imports from Django
    async with ApiClient(ClientConsumer) as first, ApiClient(ClientConsumer) as second:
        replies = await asyncio.gather(
            first.call(ClientConsumer.username), second.call(ClientConsumer.username)
        )
    assert [reply.data for reply in replies] == ["anonymous", "anonymous"]
    assert kept["close_old_connections"] is django.db.close_old_connections


class Streams(Demultiplexer):
    streams = {"client": ClientConsumer}


async def test_stream_name_is_for_a_demultiplexer_and_call_needs_it() -> None:
    """stream_name= with a plain consumer is a TypeError; so is call() on a Demultiplexer
    without one (raw frames still work)."""
    with pytest.raises(TypeError, match="stream_name= is for a Demultiplexer"):
        ApiClient(ClientConsumer, stream_name="client")
    async with ApiClient(Streams) as client:
        with pytest.raises(TypeError, match="need ApiClient"):
            await client.call(ClientConsumer.username)
        await client.send({"stream": "client", "payload": {"action": "username"}})
        assert (await client.receive())["stream"] == "client"


class Raw(AsyncAPIConsumer):
    @action
    async def binary(self) -> Response[None]:
        await self.send(bytes_data=b"\x00")
        return Response.no_content()

    @action
    async def last_word(self) -> Response[None]:
        await self.send(text_data='{"last": true}', close=True)
        return Response.no_content()


class Renamed(ClientConsumer):
    @action
    async def username(self) -> Response[str]:
        return Response.ok("renamed")


async def test_an_action_of_another_consumer_is_refused_before_it_is_sent() -> None:
    """call(B.action) on ApiClient(A) is a TypeError, also for an action A redefines and on a
    stream; an action A inherits is A's."""
    async with ApiClient(Raw) as client:
        with pytest.raises(TypeError, match=r"^ClientConsumer.username is not an action of Raw\.$"):
            await client.call(ClientConsumer.username)
        assert await client.receive_nothing()
    async with ApiClient(Renamed) as client:
        with pytest.raises(TypeError, match=r"^ClientConsumer\.username .* of Renamed\.$"):
            await client.call(ClientConsumer.username)
        assert (await client.call(Renamed.username)).data == "renamed"
        assert (
            await client.call(Renamed.schedule, "standup", dt.datetime(2026, 1, 1))
        ).status == 201
    async with ApiClient(Streams, stream_name="client") as client:
        with pytest.raises(TypeError, match=r"^Renamed\.username .* of ClientConsumer\.$"):
            await client.call(Renamed.username)


async def test_channels_send_of_bytes_and_of_text_with_close() -> None:
    """channels' send(): bytes go out as they are (receive() says it wanted text), text takes
    the send path and close=True closes after it."""
    async with ApiClient(Raw) as client:
        await client.send({"action": "binary"})
        with pytest.raises(AssertionError, match="expected a text frame"):
            await client.receive()
        assert (await client.receive())["response_status"] == 204
        await client.send({"action": "last_word"})
        assert await client.receive() == {"last": True}
        assert (await client.communicator.receive_output(1))["type"] == "websocket.close"


async def test_reply_to_finds_a_reply_kept_while_another_call_waited() -> None:
    """A raw frame's reply that came while call() awaited its own is found by reply_to; a
    stream read to its end stays ended."""
    async with ApiClient(ClientConsumer) as client:
        await client.send({"action": "username", "request_id": "raw"})
        stream = await client.stream(ClientConsumer.username)
        assert [page async for page in stream] == []
        assert [page async for page in stream] == []
        assert stream.response.data == "anonymous"
        assert (await client.reply_to("raw"))["data"] == "anonymous"


async def test_nothing_for_keeps_other_replies_and_sees_its_own() -> None:
    """nothing_for(request_id): replies to others within the bound are kept for receive(); one
    to the request_id, arrived or kept, is a False and stays for reply_to."""
    async with ApiClient(ClientConsumer) as client:
        await client.send({"action": "username", "request_id": "other"})
        assert await client.nothing_for("mine")
        await client.send({"action": "username", "request_id": "mine"})
        assert not await client.nothing_for("mine")
        assert not await client.nothing_for("mine")
        assert (await client.reply_to("mine"))["data"] == "anonymous"
        assert (await client.receive())["request_id"] == "other"


async def test_nothing_for_with_no_time_looks_at_the_replies_kept_only() -> None:
    """A timeout of 0 waits for nothing: a reply kept already is a False, none kept a True."""
    async with ApiClient(ClientConsumer) as client:
        assert await client.nothing_for("mine", timeout=0)
        await client.send({"action": "username", "request_id": "mine"})
        assert not await client.nothing_for("mine", timeout=5)  # arrives, and is kept
        assert not await client.nothing_for("mine", timeout=0)
        assert (await client.reply_to("mine"))["data"] == "anonymous"


class SlowWork(AsyncAPIConsumer):
    """A detached action whose database work outlives the connection."""

    done: list[str]
    started: threading.Event

    @action(detached=True)
    async def work(self) -> Response[None]:
        await db.run(self.slow)
        return Response.no_content()

    @staticmethod
    def slow() -> None:
        SlowWork.started.set()
        time.sleep(0.3)
        SlowWork.done.append("finished")


@pytest.mark.django_db(transaction=True)
async def test_leaving_waits_for_the_database_work_the_consumer_left_behind() -> None:
    """An action cancelled as the client leaves stops awaiting its database call, which still
    runs: leaving the block waits for it (the test's database is flushed after the test)."""
    SlowWork.done = []
    SlowWork.started = threading.Event()
    async with ApiClient(SlowWork) as client:
        await client.send({"action": "work", "request_id": 1})
        assert await asyncio.to_thread(SlowWork.started.wait, 5)
    assert SlowWork.done == ["finished"]
