"""The consumers the real servers serve: a model consumer with custom actions, an echo, and a
throttled echo."""

from __future__ import annotations

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import AsyncAPIConsumer, ConnectionRateThrottle, ModelConsumer, Response, action


class ItemConsumer(ModelConsumer[Item, ItemSerializer]):
    @action
    async def add(self, a: float, b: float) -> Response[float]:
        return Response.ok(a + b)

    @action
    async def crash(self) -> Response[None]:
        raise RuntimeError("secret: the database password is hunter2")


class EchoConsumer(AsyncAPIConsumer):
    @action
    async def echo(self, text: str) -> Response[str]:
        return Response.ok(text)


class FivePerMinute(ConnectionRateThrottle):
    rate = "5/min"


class ThrottledEcho(EchoConsumer):
    throttle_classes = (FivePerMinute,)
