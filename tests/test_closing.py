"""Closing a connection, from either side, when parts of it fail or it is closed twice: the
consumer's disconnect() runs, and the client gets one close."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from channels.layers import InMemoryChannelLayer

from tests.app.consumers import ObservedItems
from tests.app.models import Item
from typed_dcrf import AsyncAPIConsumer, Response, action, db
from typed_dcrf._subscriptions import Subscriptions
from typed_dcrf.testing import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)


class DiscardFails(InMemoryChannelLayer):
    """A layer that cannot be reached when a channel leaves a group."""

    async def group_discard(self, group: str, channel: str) -> None:
        raise ConnectionError("the layer is down")


class Announced(AsyncAPIConsumer):
    """Joins a group of its own as it starts (channels' ``groups``); records its disconnect()
    and closes itself on ``leave``."""

    groups = ["typed_dcrf_test_closing"]  # an instance variable, as channels declares it
    codes: ClassVar[list[int]] = []

    @action
    async def leave(self) -> Response[None]:
        await self.close(code=4000)
        await self.close(code=4001)  # closed already: nothing more is sent
        return Response.ok(None)

    async def disconnect(self, code: int) -> None:
        Announced.codes.append(code)


class RecordedItems(ObservedItems):
    """Records its disconnect()."""

    codes: ClassVar[list[int]] = []

    async def disconnect(self, code: int) -> None:
        RecordedItems.codes.append(code)


@pytest.fixture(autouse=True)
def no_codes() -> None:
    Announced.codes = []
    RecordedItems.codes = []


async def test_a_group_that_cannot_be_left_is_logged_and_disconnect_runs(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.test_closing.DiscardFails"}}
    async with ApiClient(Announced) as client:
        await client.send({"action": "leave", "request_id": 1})
        assert await client.communicator.receive_output(1) == {
            "type": "websocket.close",
            "code": 4000,
        }
    assert Announced.codes == [1000]
    assert "Leaving the group 'typed_dcrf_test_closing' failed" in caplog.text


async def test_a_connection_closed_twice_gets_one_close_and_no_reply() -> None:
    """The second close sends nothing, nor does the action's reply (uvicorn would raise on a
    frame after the close)."""
    async with ApiClient(Announced) as client:
        await client.send({"action": "leave", "request_id": 1})
        closed = await client.communicator.receive_output(1)
        assert closed == {"type": "websocket.close", "code": 4000}
        assert await client.receive_nothing()


async def test_state_that_fails_to_close_is_logged_and_disconnect_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Ending the subscriptions fails as the client leaves (logged): the consumer's
    disconnect() runs all the same, and the consumer ends."""
    close = Subscriptions.close
    calls: list[Subscriptions] = []

    async def fails_once(self: Subscriptions) -> None:
        calls.append(self)
        if len(calls) == 1:
            raise RuntimeError("the subscriptions could not be ended")
        await close(self)

    monkeypatch.setattr(Subscriptions, "close", fails_once)
    item = await db.run(Item.objects.create, name="milk", slug="milk")
    async with ApiClient(RecordedItems) as client:
        await client.subscribe(
            RecordedItems.instance_observer, RecordedItems.subscribe_instance, pk=item.pk
        )
    assert RecordedItems.codes == [1000]
    assert len(calls) == 2  # and again as the consumer ended
    assert "Closing the connection of RecordedItems failed" in caplog.text
