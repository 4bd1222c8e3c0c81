"""A Redis channel layer that cannot be reached: an action's layer call is a 503 with a
generic message, and the connection stays open."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, cast

import pytest
import redis.exceptions
from channels.layers import InMemoryChannelLayer
from pydantic import ValidationError as PydanticValidationError

from tests.app.consumers import ObservedItems
from tests.app.models import Item
from tests.frames import envelope
from tests.redis_process import RedisServer, redis_server
from tests.server.process import free_port
from tests.settings import REDIS_LAYER
from tests.tcp_proxy import proxy_to
from typed_dcrf import AsyncAPIConsumer, Response, _layer_watch, action, consumers, db
from typed_dcrf._layer_watch import layer_call
from typed_dcrf._subscriptions import INTERRUPTED
from typed_dcrf.conf import Settings
from typed_dcrf.testing import ApiClient, ErrorReply

UNAVAILABLE = ["Service temporarily unavailable, try again later."]


class Announcer(AsyncAPIConsumer):
    @action
    async def announce(self, text: str) -> Response[None]:
        await self.channel_layer.group_send("announcements", {"type": "nothing", "text": text})
        return Response.ok(None)

    @action
    async def echo(self, text: str) -> Response[str]:
        return Response.ok(text)


async def test_an_unreachable_layer_in_an_action_is_a_503(settings: Any) -> None:
    """Nothing listens on the layer's port: the action that sends is a 503, the one that does
    not still answers, on the same connection."""
    config = {**REDIS_LAYER["CONFIG"], "hosts": [f"redis://127.0.0.1:{free_port()}"]}
    settings.CHANNEL_LAYERS = {"default": {**REDIS_LAYER, "CONFIG": config}}
    async with ApiClient(Announcer) as client:
        with pytest.raises(ErrorReply) as refused:
            await client.call(Announcer.announce, text="hi")
        assert (refused.value.status, refused.value.errors) == (503, UNAVAILABLE)
        assert (await client.call(Announcer.echo, text="still here")).data == "still here"


@contextmanager
def logged(message: str) -> Generator[asyncio.Event]:
    """An event set once typed_dcrf logs a record beginning with ``message``."""
    seen = asyncio.Event()

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith(message):
                seen.set()

    handler = Seen()
    logging.getLogger("typed_dcrf").addHandler(handler)
    try:
        yield seen
    finally:
        logging.getLogger("typed_dcrf").removeHandler(handler)


@pytest.fixture
def own_redis(tmp_path: Path, settings: Any) -> Iterator[RedisServer]:
    """A Redis of this test's own as the layer, checked for a restart every 0.2 s."""
    with redis_server(tmp_path) as redis:
        config = {
            **REDIS_LAYER["CONFIG"],
            "hosts": [{"address": redis.url, "socket_timeout": None}],
        }
        settings.CHANNEL_LAYERS = {"default": {**REDIS_LAYER, "CONFIG": config}}
        settings.TYPED_DCRF = {"LAYER_CHECK_SECONDS": 0.2}
        yield redis


@pytest.mark.django_db(transaction=True)
async def test_a_restarted_redis_ends_the_subscriptions_with_a_503(own_redis: RedisServer) -> None:
    item = await db.run(Item.objects.create, name="a", slug="a")
    async with ApiClient(ObservedItems) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": "i"})
        assert (await client.receive())["response_status"] == 201
        own_redis.stop()
        own_redis.start()
        ended = await client.receive()
    assert ended == envelope("subscribe_instance", 503, errors=[INTERRUPTED], request_id="i")


async def test_a_layer_call_is_tried_once_more_when_the_layer_cannot_be_reached() -> None:
    calls: list[int] = []

    async def flaky(fails: int) -> str:
        calls.append(fails)
        if len(calls) <= fails:
            raise redis.exceptions.ConnectionError("cut")
        return "sent"

    assert await layer_call(flaky, 1) == "sent"
    calls.clear()
    with pytest.raises(redis.exceptions.ConnectionError):
        await layer_call(flaky, 2)
    assert calls == [2, 2]


@pytest.mark.django_db(transaction=True)
async def test_no_watch_with_layer_check_seconds_0(own_redis: RedisServer, settings: Any) -> None:
    settings.TYPED_DCRF = {"LAYER_CHECK_SECONDS": 0}
    item = await db.run(Item.objects.create, name="a", slug="a")
    async with ApiClient(ObservedItems) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": "i"})
        assert (await client.receive())["response_status"] == 201
        assert not _layer_watch._watches.get(asyncio.get_running_loop())  # pyright: ignore[reportPrivateUsage]


def test_layer_check_seconds_is_not_negative() -> None:
    with pytest.raises(PydanticValidationError):
        Settings.model_validate({"LAYER_CHECK_SECONDS": -1})


@pytest.mark.django_db(transaction=True)
async def test_a_redis_unreachable_for_a_while_ends_the_subscriptions_with_a_503(
    tmp_path: Path, settings: Any
) -> None:
    """Redis itself keeps running (and its memberships), but the process cannot reach it for
    a check: the events of that time may be lost, so the subscriptions end too."""
    with redis_server(tmp_path) as redis_, proxy_to("127.0.0.1", redis_.port) as proxy:
        host = {"address": f"redis://127.0.0.1:{proxy.port}", "socket_timeout": None}
        config = {**REDIS_LAYER["CONFIG"], "hosts": [host]}
        settings.CHANNEL_LAYERS = {"default": {**REDIS_LAYER, "CONFIG": config}}
        settings.TYPED_DCRF = {"LAYER_CHECK_SECONDS": 0.2}
        item = await db.run(Item.objects.create, name="a", slug="a")
        async with ApiClient(ObservedItems) as client:
            await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": "i"})
            assert (await client.receive())["response_status"] == 201
            with logged("The channel layer cannot be reached") as unreachable:
                proxy.refuse()
                proxy.cut()
                async with asyncio.timeout(10):  # until a check has found it unreachable
                    await unreachable.wait()
            proxy.listen()
            ended = await client.receive()
    assert ended == envelope("subscribe_instance", 503, errors=[INTERRUPTED], request_id="i")


class Remembered(ObservedItems):
    """Subscriptions to items, each connection kept in ``made`` as it connects."""

    made: ClassVar[list[Remembered]] = []

    async def connect(self) -> None:
        Remembered.made.append(self)
        await super().connect()


def frames(client: ApiClient) -> list[Any]:
    """The frames sent to ``client`` so far, taken off its queue."""
    queue = client.communicator._inner.output_queue  # pyright: ignore[reportPrivateUsage]
    return [json.loads(queue.get_nowait()["text"]) for _ in range(queue.qsize())]


@pytest.mark.django_db(transaction=True)
async def test_a_subscription_ended_by_an_interruption_and_a_revocation_at_once_gets_one_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The revocation ends the first subscription, and waits for the layer to leave its group;
    the layer's watch meanwhile ends the second one: each gets one frame, of what ended it."""
    first, second = [await db.run(Item.objects.create, name=n, slug=n) for n in ("a", "b")]
    Remembered.made = []
    async with ApiClient(Remembered) as client:
        for request_id, item in (("first", first), ("second", second)):
            await client.send(
                {"action": "subscribe_instance", "pk": item.pk, "request_id": request_id}
            )
            assert (await client.receive())["response_status"] == 201
        [consumer] = Remembered.made
        subscriptions = consumer.subscriptions
        layer = consumer.channel_layer
        discard = layer.group_discard
        leaving, release = asyncio.Event(), asyncio.Event()

        async def slow_discard(group: str, channel: str) -> None:
            leaving.set()
            await release.wait()
            await discard(group, channel)

        monkeypatch.setattr(layer, "group_discard", slow_discard)
        revoking = asyncio.create_task(subscriptions.revoke())
        await leaving.wait()
        interrupting = asyncio.create_task(subscriptions.interrupt())
        await asyncio.sleep(0)  # the interruption runs up to its own wait for the layer
        release.set()
        await asyncio.gather(revoking, interrupting)
        sender = subscriptions.outbox._sender  # pyright: ignore[reportPrivateUsage]
        if sender is not None:
            await sender
        sent = frames(client)
    assert sorted((f["request_id"], f["response_status"]) for f in sent) == [
        ("first", 401),
        ("second", 503),
    ]


@pytest.mark.django_db(transaction=True)
async def test_a_group_joined_while_it_is_being_left_stays_joined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subscription ends (its group being left, slowly) and one to the same row is made at
    once: the layer is told to leave the group before it is told to join it again."""
    item = await db.run(Item.objects.create, name="a", slug="a")
    Remembered.made = []
    async with ApiClient(Remembered) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 1})
        assert (await client.receive())["response_status"] == 201
        [consumer] = Remembered.made
        [group] = consumer.subscriptions.by_group
        layer = consumer.channel_layer
        discard = layer.group_discard
        leaving, release = asyncio.Event(), asyncio.Event()

        async def slow_discard(group: str, channel: str) -> None:
            leaving.set()
            await release.wait()
            await discard(group, channel)

        subscriptions = consumer.subscriptions
        group_add = subscriptions._group_add  # pyright: ignore[reportPrivateUsage]
        joining = asyncio.Event()

        async def signalled_group_add(group: str) -> None:
            joining.set()
            await group_add(group)

        monkeypatch.setattr(layer, "group_discard", slow_discard)
        monkeypatch.setattr(subscriptions, "_group_add", signalled_group_add)
        ending = asyncio.create_task(subscriptions.remove(1))
        await leaving.wait()
        subscribing = asyncio.create_task(client.receive())
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 2})
        await joining.wait()  # the new subscription joins the group while it is being left
        release.set()
        await ending
        assert (await subscribing)["response_status"] == 201
        assert consumer.channel_name in cast("InMemoryChannelLayer", layer).groups.get(group, {})


@pytest.mark.django_db(transaction=True)
async def test_a_check_refused_by_redis_keeps_the_watch_and_ends_the_subscriptions(
    own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis answers a check with an error (not a cut connection): the watch goes on, and, the
    events of that time perhaps lost, the subscriptions end with a 503."""
    original = _layer_watch.LayerWatch.still_marked
    raised: list[Exception] = []

    async def refused_once(watch: _layer_watch.LayerWatch) -> bool:
        if not raised:  # a read-only replica after a failover, say
            raised.append(redis.exceptions.ReadOnlyError("You can't write against a replica."))
            raise raised[0]
        return await original(watch)

    monkeypatch.setattr(_layer_watch.LayerWatch, "still_marked", refused_once)
    item = await db.run(Item.objects.create, name="a", slug="a")
    async with ApiClient(ObservedItems) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": "i"})
        assert (await client.receive())["response_status"] == 201
        ended = await client.receive()
    assert raised
    assert ended == envelope("subscribe_instance", 503, errors=[INTERRUPTED], request_id="i")


@pytest.mark.django_db(transaction=True)
async def test_a_watch_that_ended_is_replaced_by_the_next_subscription(
    own_redis: RedisServer,
) -> None:
    item = await db.run(Item.objects.create, name="a", slug="a")
    Remembered.made = []
    async with ApiClient(Remembered) as client:
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 1})
        assert (await client.receive())["response_status"] == 201
        [consumer] = Remembered.made
        watches = _layer_watch._watches[asyncio.get_running_loop()]  # pyright: ignore[reportPrivateUsage]
        ended = watches[consumer.channel_layer]
        assert ended.task is not None
        ended.task.cancel()
        await asyncio.gather(ended.task, return_exceptions=True)
        await client.send({"action": "subscribe_instance", "pk": item.pk, "request_id": 2})
        assert (await client.receive())["response_status"] == 201
        watch = watches[consumer.channel_layer]
        assert watch is not ended
        assert watch.task is not None
        assert not watch.task.done()
        assert consumer.subscriptions in watch.members


class HeldRedis:
    """A Redis client of a layer whose ``set`` waits for ``release``, then fails as a cut
    connection does."""

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.release = asyncio.Event()

    async def set(self, *_: object, **__: object) -> None:
        self.called.set()
        await self.release.wait()
        raise redis.exceptions.ConnectionError("cut")


class HeldLayer:
    """Looks like channels-redis's layer to the watch: one host, whose client is held."""

    ring_size = 1

    def __init__(self) -> None:
        self.client = HeldRedis()

    def connection(self, index: int) -> HeldRedis:
        return self.client


class Member:
    async def interrupt(self) -> None:
        pass


async def test_a_member_joining_while_the_first_marking_fails_is_refused_too(
    settings: Any,
) -> None:
    """The second member joins while the first one's marker is being set: it waits for it, and
    when that fails, both are refused, and nothing is left watched."""
    settings.TYPED_DCRF = {"LAYER_CHECK_SECONDS": 0.2}
    layer = HeldLayer()
    first = asyncio.create_task(_layer_watch.join(Member(), layer))
    await layer.client.called.wait()
    second = asyncio.create_task(_layer_watch.join(Member(), layer))
    await asyncio.sleep(0)  # the second runs up to its wait
    layer.client.release.set()
    outcomes = await asyncio.gather(first, second, return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [redis.exceptions.ConnectionError] * 2
    assert not _layer_watch._watches.get(asyncio.get_running_loop())  # pyright: ignore[reportPrivateUsage]


async def test_a_layer_read_that_timed_out_is_tried_again_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A ``socket_timeout`` that times an idle read out says nothing of Redis: the read is made
    again, logged at debug level only; a read that cannot reach Redis is a warning."""
    failures: list[Exception] = [
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        redis.exceptions.ConnectionError("Connection refused"),
    ]

    async def receive() -> Any:
        if failures:
            raise failures.pop(0)
        return {"type": "typed_dcrf.event"}

    reading = consumers._retrying_receive(receive, "Reader")  # pyright: ignore[reportPrivateUsage]
    with caplog.at_level(logging.DEBUG, logger="typed_dcrf"):
        assert await reading() == {"type": "typed_dcrf.event"}
    levels = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records]
    assert levels == [
        ("DEBUG", "Reader"),
        ("WARNING", "Reader cannot read the channel layer"),
    ]
