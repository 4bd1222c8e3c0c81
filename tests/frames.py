"""Raw-frame helpers for the tests: send one frame, and build the exact replies expected."""

from __future__ import annotations

from collections.abc import Sequence

from tests.app.models import Item
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject, JSONValue


async def ask(client: ApiClient, action_name: str, **arguments: JSONValue) -> JSONObject:
    """Send one raw frame, its request_id the action's name, and return the next reply."""
    await client.send({"action": action_name, "request_id": action_name, **arguments})
    return await client.receive()


def reply(
    action_name: str,
    status: int,
    data: JSONValue = None,
    errors: Sequence[JSONValue] = (),
) -> dict[str, JSONValue]:
    """The exact reply to a frame sent by ``ask``."""
    return {
        "errors": list(errors),
        "data": data,
        "action": action_name,
        "response_status": status,
        "request_id": action_name,
    }


def error_reply(status: int, errors: Sequence[JSONValue], action_name: str) -> dict[str, JSONValue]:
    """The exact error reply to a frame sent by ``ask``."""
    return reply(action_name, status, errors=errors)


def item_row(item: Item) -> dict[str, JSONValue]:
    """``item`` as ``ItemSerializer`` renders it on the wire."""
    return {
        "id": item.pk,
        "name": item.name,
        "slug": item.slug,
        "uuid": str(item.uuid),
        "done": item.done,
        "owner": item.owner_id,
    }


def envelope(
    action: str | None,
    status: int,
    *,
    data: JSONValue = None,
    errors: list[JSONValue] | None = None,
    request_id: JSONValue = None,
) -> JSONObject:
    """A reply frame with every one of its five keys given."""
    return {
        "errors": errors or [],
        "data": data,
        "action": action,
        "response_status": status,
        "request_id": request_id,
    }
