"""typed_dcrf.schema: the AsyncAPI 3.0 document of the real servers' routing, accepted by the
official parser (@asyncapi/parser, pinned in tests/js) and checked for what it does not check:
every action one operation, every reply its own channel's, the model's fields named, and the
events of subscriptions and pages of streams."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.management import CommandError, call_command
from django.urls import path, re_path
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import ReturnDict

from examples.live import Dashboard
from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from tests.node import asyncapi_problems
from tests.server.asgi import application
from tests.server.consumers import EchoConsumer, ItemConsumer
from typed_dcrf import (
    Demultiplexer,
    ModelConsumer,
    PaginatedModelConsumer,
    StreamedListModelMixin,
    observe,
)
from typed_dcrf.routes import websocket_routes
from typed_dcrf.schema import asyncapi_document

ITEM_FIELDS = ["id", "name", "slug", "uuid", "done", "owner"]
# django-stubs type path() for views only, not for the ASGI applications channels routes.
route = cast("Any", path)
regex_route = cast("Any", re_path)


class ItemPages(PaginatedModelConsumer[Item, ItemSerializer]):
    pass


class ColouredItemSerializer(serializers.ModelSerializer[Item]):
    colour = serializers.ChoiceField(choices=["red", "blue"])
    secret = serializers.CharField(write_only=True)

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Item
        fields = ("id", "name", "colour", "secret")


class ColouredItems(ModelConsumer[Item, ColouredItemSerializer]):
    pass


class StreamedItems(
    StreamedListModelMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]
):
    pass


async def plain_asgi_app(scope: object, receive: object, send: object) -> None:
    """Not a consumer: left out of the routes."""


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(websocket_routes(application), title="typed_dcrf tests")


def test_the_official_parser_accepts_it(document: dict[str, Any], tmp_path: Path) -> None:
    assert asyncapi_problems(document, tmp_path) == []


def test_websocket_routes_walks_middleware_and_nested_routers() -> None:
    routing = ProtocolTypeRouter(
        {
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(
                    URLRouter(
                        [
                            route("api/", URLRouter([route("items/", ItemConsumer.as_asgi())])),
                            regex_route(r"^ws/$", Demultiplexer.as_asgi(echo=EchoConsumer)),
                            route("plain/", plain_asgi_app),
                        ]
                    )
                )
            )
        }
    )
    routes = websocket_routes(routing)
    assert list(routes) == ["/api/items/", "/ws/"]
    assert routes["/api/items/"] is ItemConsumer
    multiplexed = routes["/ws/"]
    assert issubclass(multiplexed, Demultiplexer)
    assert dict(multiplexed.streams) == {"echo": EchoConsumer}


def test_every_action_is_one_operation_replying_on_its_own_channel(
    document: dict[str, Any],
) -> None:
    channels, operations = document["channels"], document["operations"]
    assert channels["ws_items"]["address"] == "/ws/items/"
    served = sorted(op for op in operations if op.startswith("ws_items."))  # no events
    assert served == sorted(f"ws_items.{name}" for name in ItemConsumer.actions)
    for key, operation in operations.items():
        channel = operation["channel"]["$ref"]
        if operation["action"] == "send":  # events: no reply
            assert key.endswith(".events")
            assert "reply" not in operation
        else:
            assert operation["action"] == "receive"
            assert operation["reply"]["channel"]["$ref"] == channel
        replies = operation.get("reply", {}).get("messages", [])
        for message in [*operation["messages"], *replies]:
            owner, _, name = message["$ref"].rpartition("/messages/")
            assert owner == channel, key
            assert name in channels[channel.rsplit("/", 1)[1]]["messages"], key


def component(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The component schema ``schema`` refers to."""
    found: dict[str, Any] = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return found


def test_a_crud_reply_names_the_serializers_fields(document: dict[str, Any]) -> None:
    """The serializer's row is one component, named after the serializer, for every action,
    page and event of every channel that serves it."""
    messages = document["channels"]["ws_items"]["messages"]
    ref = messages["retrieve_reply"]["payload"]["properties"]["data"]
    assert ref == {"$ref": "#/components/schemas/ItemSerializer"}
    row = component(document, ref)
    assert list(row["properties"]) == ITEM_FIELDS
    assert row["required"] == ITEM_FIELDS
    assert row["properties"]["owner"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    listed = messages["list_reply"]["payload"]["properties"]["data"]
    assert listed == {"type": "array", "items": ref}
    observed = document["channels"]["ws.observed"]["messages"]
    event = observed["subscribe_instance_change"]["payload"]["properties"]["payload"]
    assert event["properties"]["data"] == ref


def test_two_serializers_of_one_name_are_two_components() -> None:
    class Clashing(ModelConsumer[Item, ColouredItemSerializer]):
        pass

    ColouredItemSerializer.__name__ = "ItemSerializer"  # as another app's serializer may be
    try:
        document = asyncapi_document(
            {"/ws/items/": ItemConsumer, "/ws/clashing/": Clashing}, title="clash"
        )
    finally:
        ColouredItemSerializer.__name__ = "ColouredItemSerializer"
    replies = [
        document["channels"][channel]["messages"]["retrieve_reply"]["payload"]["properties"]
        for channel in ("ws_items", "ws_clashing")
    ]
    assert [reply["data"] for reply in replies] == [
        {"$ref": "#/components/schemas/ItemSerializer"},
        {"$ref": "#/components/schemas/ItemSerializer2"},
    ]
    assert list(component(document, replies[1]["data"])["properties"]) == ["id", "name", "colour"]


def test_a_page_holds_serializer_rows() -> None:
    document = asyncapi_document({"/ws/pages/": ItemPages}, title="pages")
    messages = document["channels"]["ws_pages"]["messages"]
    page = messages["list_reply"]["payload"]["properties"]["data"]
    assert set(page["properties"]) == {"results", "count", "limit", "offset"}
    assert page["properties"]["results"]["items"] == {"$ref": "#/components/schemas/ItemSerializer"}
    request = messages["list_request"]["payload"]
    assert {"limit", "offset"} <= set(request["properties"])


def test_a_row_has_the_fields_drf_writes_out() -> None:
    """Choices become an enum; a write-only field is never in a row."""
    document = asyncapi_document({"/ws/coloured/": ColouredItems}, title="coloured")
    reply = document["channels"]["ws_coloured"]["messages"]["retrieve_reply"]["payload"]
    row = component(document, reply["properties"]["data"])
    assert list(row["properties"]) == ["id", "name", "colour"]
    assert row["properties"]["colour"] == {"enum": ["red", "blue"], "type": "string"}


def test_arguments_and_results_come_from_the_signature(document: dict[str, Any]) -> None:
    messages = document["channels"]["ws_items"]["messages"]
    add = messages["add_request"]["payload"]
    assert add["properties"]["action"] == {"const": "add"}
    assert add["properties"]["a"]["type"] == "number"
    assert add["required"] == ["action", "a", "b"]
    assert messages["add_reply"]["payload"]["properties"]["data"] == {"type": "number"}
    retrieve = messages["retrieve_request"]["payload"]
    assert retrieve["properties"]["pk"]["type"] == "integer"


def test_a_stream_wraps_its_payloads(document: dict[str, Any]) -> None:
    echo = document["channels"]["ws.echo"]
    assert echo["address"] == "/ws/"
    request = echo["messages"]["echo_request"]["payload"]
    assert request["properties"]["stream"] == {"const": "echo"}
    assert request["properties"]["payload"]["properties"]["text"]["type"] == "string"
    error = echo["messages"]["error"]["payload"]["properties"]["payload"]
    assert error["properties"]["response_status"]["enum"] == [
        400,
        401,
        403,
        404,
        405,
        429,
        500,
        503,
    ]


def test_subscriptions_send_their_events(document: dict[str, Any]) -> None:
    """A list subscription: 206 pages of rows before its reply, then changes and deletes of
    rows, numbered by seq; an instance subscription's rows are only ever updated."""
    tasks = document["channels"]["ws_tasks"]["messages"]
    operations = document["operations"]
    subscribe = operations["ws_tasks.subscribe_list"]["reply"]["messages"]
    assert [m["$ref"].rsplit("/", 1)[1] for m in subscribe] == [
        "subscribe_list_page",
        "subscribe_list_reply",
        "error",
    ]
    page = tasks["subscribe_list_page"]["payload"]["properties"]
    assert page["response_status"] == {"const": 206}
    assert "results" in page["data"]["properties"]
    events = operations["ws_tasks.subscribe_list.events"]
    assert events["action"] == "send"
    names = [m["$ref"].rsplit("/", 1)[1] for m in events["messages"]]
    assert names == ["subscribe_list_change", "subscribe_list_delete"]
    change = tasks["subscribe_list_change"]["payload"]["properties"]
    assert change["action"] == {"enum": ["create", "update"]}
    assert change["seq"]["type"] == "integer"
    deleted = tasks["subscribe_list_delete"]["payload"]["properties"]
    assert (deleted["response_status"], deleted["data"]["required"]) == ({"const": 204}, ["pk"])
    instance = tasks["subscribe_instance_change"]["payload"]["properties"]
    assert instance["action"] == {"const": "update"}
    assert "seq" not in instance


def test_observers_events_carry_their_payload_type() -> None:
    document = asyncapi_document({"/ws/dashboard/": Dashboard}, title="dashboard")
    messages = document["channels"]["ws_dashboard"]["messages"]
    item = messages["items_change"]["payload"]["properties"]["data"]
    assert item == {"$ref": "#/components/schemas/ItemOut"}
    assert set(document["components"]["schemas"]["ItemOut"]["properties"]) == {"id", "name", "done"}
    news = messages["news_event"]["payload"]["properties"]
    assert news["action"] == {"const": "announcement"}
    assert "news_delete" not in messages


@dataclass
class ItemName:
    name: str


def item_name(item: Item) -> ItemName:
    return ItemName(item.name)


def item_row(item: Item) -> ReturnDict[str, Any]:
    row: ReturnDict[str, Any] = ItemSerializer(item).data  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]  # a bare ReturnDict in the stubs
    return row


class ItemsObserved(ModelConsumer[Item, ItemSerializer]):
    """Two observers of its model: one with a type of its own, one of serializer rows."""

    names = observe(Item, item_name)
    rows = observe(Item, item_row)


def test_each_observer_has_its_own_payload_type() -> None:
    document = asyncapi_document({"/ws/observed/": ItemsObserved}, title="observed")
    messages = document["channels"]["ws_observed"]["messages"]
    data = [
        messages[f"{name}_change"]["payload"]["properties"]["data"] for name in ("names", "rows")
    ]
    assert data == [
        {"$ref": "#/components/schemas/ItemName"},
        {"$ref": "#/components/schemas/ItemSerializer"},
    ]


def test_a_stream_sends_pages_then_its_end() -> None:
    document = asyncapi_document({"/ws/streamed/": StreamedItems}, title="streamed")
    messages = document["channels"]["ws_streamed"]["messages"]
    page = messages["stream_list_page"]["payload"]["properties"]["data"]
    rows = page["properties"]["results"]["items"]
    assert list(component(document, rows)["properties"]) == ITEM_FIELDS
    end = messages["stream_list_reply"]["payload"]["properties"]["data"]
    definition = document["components"]["schemas"][end["$ref"].rsplit("/", 1)[1]]
    assert set(definition["properties"]) == {"count", "cancelled", "end"}


ASGI = "tests.server.asgi.application"


def test_the_command_writes_json_and_yaml(settings: Any, tmp_path: Path) -> None:
    settings.ASGI_APPLICATION = ASGI
    out = io.StringIO()
    call_command("asyncapi", "--title", "tests", stdout=out)
    written = json.loads(out.getvalue())
    assert written == asyncapi_document(websocket_routes(application), title="tests")
    target = tmp_path / "asyncapi.yaml"
    call_command(
        "asyncapi", "--output", str(target), "--api-version", "2.1.0", stderr=io.StringIO()
    )
    as_yaml = yaml.safe_load(target.read_text())
    assert as_yaml["info"] == {"title": "tests.server.asgi", "version": "2.1.0"}
    assert as_yaml["channels"] == written["channels"]


def test_the_command_says_what_it_lacks(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    del settings.ASGI_APPLICATION
    with pytest.raises(CommandError, match="Set ASGI_APPLICATION"):
        call_command("asyncapi")
    settings.ASGI_APPLICATION = "tests.test_schema.plain_asgi_app"
    with pytest.raises(CommandError, match="routes no websocket to a typed_dcrf consumer"):
        call_command("asyncapi")
    settings.ASGI_APPLICATION = ASGI
    monkeypatch.setitem(sys.modules, "yaml", None)  # PyYAML not installed
    with pytest.raises(CommandError, match="pip install pyyaml"):
        call_command("asyncapi", "--format", "yaml")
