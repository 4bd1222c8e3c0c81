"""A Redis channel layer that cannot be reached: an action's layer call is a 503 with a
generic message, and the connection stays open."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.exceptions
from pydantic import ValidationError as PydanticValidationError

from tests.app.consumers import ObservedItems
from tests.app.models import Item
from tests.frames import envelope
from tests.redis_process import RedisServer, redis_server
from tests.server.process import free_port
from tests.settings import REDIS_LAYER
from tests.tcp_proxy import proxy_to
from typed_dcrf import AsyncAPIConsumer, Response, _layer_watch, action, db
from typed_dcrf._layer_watch import INTERRUPTED, layer_call
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
        assert not _layer_watch._watches  # pyright: ignore[reportPrivateUsage]


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
