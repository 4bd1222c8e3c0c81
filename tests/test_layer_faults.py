"""A Redis channel layer that cannot be reached: an action's layer call is a 503 with a
generic message, and the connection stays open."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.process import free_port
from tests.settings import REDIS_LAYER
from typed_dcrf import AsyncAPIConsumer, Response, action
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
