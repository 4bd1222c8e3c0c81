"""``asyncapi_document``: an AsyncAPI 3.0 document for a routing of consumers.

Built from what each consumer compiled when its class was created: every action's argument
parser and the ``T`` of its ``Response[T]``, with JSON Schemas from pydantic and, for a model
consumer's serializer output, from DRF's own OpenAPI mapping of the serializer's fields. One
channel per route (and per stream of a multiplexed route); each action is a ``receive``
operation whose reply is its success envelope or one of the error envelopes.
"""

from __future__ import annotations

import copy
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import core_schema
from rest_framework.schemas.openapi import AutoSchema
from rest_framework.serializers import BaseSerializer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from typed_dcrf.actions import Action
from typed_dcrf.consumers import AsyncAPIConsumer
from typed_dcrf.generics import GenericModelConsumer
from typed_dcrf.instances import ObserveInstanceMixin
from typed_dcrf.lists import ObserveListMixin
from typed_dcrf.multiplex import Demultiplexer
from typed_dcrf.observers import Observer, SignalObserver
from typed_dcrf.observing import ObservedModel, ObservedSignal
from typed_dcrf.pagination import Page
from typed_dcrf.routes import Route
from typed_dcrf.streaming import StreamedListModelMixin

ASYNCAPI_VERSION = "3.0.0"
ERROR_STATUSES = (400, 401, 403, 404, 405, 429, 500, 503)
"""What any action may answer instead of its success: bad arguments, refused, missing,
unknown action, throttled, server error, the database or the channel layer unavailable (503
also ends a subscription whose events may have been lost)."""
REF_TEMPLATE = "#/components/schemas/{model}"
PAGE = Page[dict[str, Any]]
"""The data of a 206 page of rows (``stream_list``, ``subscribe_list``)."""

Schema: TypeAlias = dict[str, Any]
"""A JSON Schema (values are JSON; typed ``Any`` as pydantic and DRF produce them)."""

_REQUEST_ID: Schema = {"description": "Any JSON value, echoed in every reply and event."}
_FIELD_ERRORS: Schema = {
    "type": "object",
    "description": "Field errors as DRF nests them: a list of messages, or more fields.",
    "additionalProperties": {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
    },
}
_RETRY: Schema = {
    "type": "object",
    "description": "A 429's data: the seconds until an action may pass again.",
    "properties": {"wait": {"type": "integer", "minimum": 0}},
    "required": ["wait"],
}


def asyncapi_document(
    routes: Mapping[str, Route], *, title: str, version: str = "1.0.0"
) -> dict[str, Any]:
    """The document for ``routes`` (websocket path → consumer class or ``Demultiplexer``)."""
    channels = [
        _Channel(address, consumer, stream)
        for address, served in routes.items()
        for stream, consumer in _streams(served)
    ]
    types = _Types()
    for channel in channels:
        channel.register(types)
    types.generate()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": title, "version": version},
        "defaultContentType": "application/json",
        "channels": {channel.id: channel.channel(types) for channel in channels},
        "operations": {
            key: operation for channel in channels for key, operation in channel.operations()
        },
        "components": {
            "schemas": types.definitions,
            "correlationIds": {
                "requestId": {
                    "description": "The request_id a client chose, echoed in its replies.",
                    "location": "$message.payload#/request_id",
                }
            },
        },
    }


def _streams(served: Route) -> list[tuple[str | None, type[AsyncAPIConsumer]]]:
    if issubclass(served, Demultiplexer):
        return list(served.streams.items())
    return [(None, served)]


class _Types:
    """Every type the messages name, generated together so that pydantic names each once."""

    def __init__(self) -> None:
        self._adapters: dict[tuple[str, JsonSchemaMode], TypeAdapter[Any]] = {}
        self._schemas: dict[tuple[str, JsonSchemaMode], Schema] = {}
        self.definitions: dict[str, Schema] = {}

    def add(self, key: str, mode: JsonSchemaMode, adapter: TypeAdapter[Any]) -> None:
        self._adapters.setdefault((key, mode), adapter)

    def add_type(self, data_type: object) -> None:
        """A data type, to serialize (a runtime type form, compiled by its codec already)."""
        readable = _data_type(data_type)
        adapter = TypeAdapter[Any](typing.cast("Any", readable))
        self.add(_type_key(data_type), "serialization", adapter)

    def data(self, data_type: object) -> Schema:
        return self.schema(_type_key(data_type), "serialization")

    def generate(self) -> None:
        inputs: list[tuple[str, JsonSchemaMode, TypeAdapter[Any]]] = [
            (key, mode, adapter) for (key, mode), adapter in self._adapters.items()
        ]
        schemas, definitions = TypeAdapter.json_schemas(
            inputs, ref_template=REF_TEMPLATE, schema_generator=_Generator
        )
        self._schemas = {(str(key), mode): schema for (key, mode), schema in schemas.items()}
        self.definitions = definitions.get("$defs", {})

    def schema(self, key: str, mode: JsonSchemaMode) -> Schema:
        return self._schemas[key, mode]

    def define(self, name: str, schema: Schema) -> Schema:
        """A reference to ``schema``, a component named ``name`` (or ``name2``... where another
        schema has that name)."""
        key, n = _identifier(name), 1
        while self.definitions.setdefault(key, schema) != schema:
            n += 1
            key = f"{_identifier(name)}{n}"
        return {"$ref": REF_TEMPLATE.format(model=key)}

    def resolve(self, schema: Schema) -> Schema:
        """``schema``, or the definition it refers to."""
        ref = schema.get("$ref")
        return self.definitions[ref.rsplit("/", 1)[1]] if isinstance(ref, str) else schema


class _Generator(GenerateJsonSchema):
    """pydantic's JSON Schemas, where a field with a default is required in what is sent: the
    reply writes it out all the same (a ``TypedDict``'s ``NotRequired`` key may be missing)."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        written = self.mode == "serialization" and field["type"] != "typed-dict-field"
        if written and not field.get("serialization_exclude_if"):
            return True
        return super().field_is_required(field, total)


class _Channel:
    """One consumer on one route (or one stream of it): a channel and its operations."""

    def __init__(self, address: str, consumer: type[AsyncAPIConsumer], stream: str | None):
        self.address = address
        self.consumer = consumer
        self.stream = stream
        self.id = _identifier(address) + (f".{_identifier(stream)}" if stream else "")
        self.actions = sorted(consumer.actions.items())
        self.events = _events_of(consumer)

    def register(self, types: _Types) -> None:
        for name, action in self.actions:
            types.add(self._arguments_key(name), "validation", action.signature.arguments)
            types.add_type(action.signature.data_type)
        for _name, event in self.events:
            types.add_type(event.observer.data_type)
        types.add_type(PAGE)

    def channel(self, types: _Types) -> dict[str, Any]:
        row = self._row(types)
        messages = {"error": self._message("error", _error_envelope())}
        for name, action in self.actions:
            key = _identifier(name)
            messages[f"{key}_request"] = self._message(
                f"{name} request", self._request(name, types)
            )
            data = _data(action.signature.data_type, types, row)
            messages[f"{key}_reply"] = self._message(f"{name} reply", _reply(name, data))
            if _streams_pages(action):
                page = _data(PAGE, types, row)
                messages[f"{key}_page"] = self._message(f"{name} page", _reply(name, page, 206))
        for name, event in self.events:
            key = _identifier(name)
            changed = _data(event.observer.data_type, types, row)
            for kind, payload in _event_payloads(event, changed).items():
                messages[f"{key}_{kind}"] = self._message(f"{name} {kind}", payload)
        channel: dict[str, Any] = {"address": self.address, "messages": messages}
        if self.stream is not None:
            channel["description"] = f"Stream {self.stream!r} of a multiplexed socket."
        return channel

    def operations(self) -> list[tuple[str, dict[str, Any]]]:
        here = {"$ref": f"#/channels/{self.id}"}
        messages = f"#/channels/{self.id}/messages"
        return [
            (
                f"{self.id}.{_identifier(name)}",
                {
                    "action": "receive",
                    "channel": here,
                    "summary": _summary(action),
                    "messages": [{"$ref": f"{messages}/{_identifier(name)}_request"}],
                    "reply": {
                        "channel": here,
                        "messages": [
                            {"$ref": f"{messages}/{_identifier(name)}_{kind}"}
                            for kind in (["page"] if _streams_pages(action) else []) + ["reply"]
                        ]
                        + [{"$ref": f"{messages}/error"}],
                    },
                },
            )
            for name, action in self.actions
        ] + [
            (
                f"{self.id}.{_identifier(name)}.events",
                {
                    "action": "send",
                    "channel": here,
                    "summary": f"The events of the {name} subscriptions, with their request_id.",
                    "messages": [
                        {"$ref": f"{messages}/{_identifier(name)}_{kind}"}
                        for kind in _event_payloads(event, {})
                    ],
                },
            )
            for name, event in self.events
        ]

    def _arguments_key(self, name: str) -> str:
        return f"{self.id}.{_identifier(name)}.arguments"

    def _request(self, name: str, types: _Types) -> Schema:
        arguments = types.resolve(types.schema(self._arguments_key(name), "validation"))
        return {
            "type": "object",
            "properties": {
                "action": {"const": name},
                "request_id": _REQUEST_ID,
                **arguments.get("properties", {}),
            },
            "required": ["action", *arguments.get("required", [])],
        }

    def _row(self, types: _Types) -> Schema | None:
        """A reference to a model consumer's serializer row, a component (``None`` for other
        consumers)."""
        consumer: type[AsyncAPIConsumer] = self.consumer
        if not issubclass(consumer, GenericModelConsumer):
            return None
        # Narrowed by issubclass, its type arguments are unknown to pyright.
        model_consumer: type[GenericModelConsumer[Any, Any]] = typing.cast("Any", consumer)
        serializer: type[BaseSerializer[Any]] = model_consumer.serializer_class  # pyright: ignore[reportGeneralTypeIssues]  # set when the class was created
        return types.define(serializer.__name__, serializer_schema(model_consumer))

    def _message(self, title: str, payload: Schema) -> dict[str, Any]:
        if self.stream is not None:
            payload = {
                "type": "object",
                "properties": {"stream": {"const": self.stream}, "payload": payload},
                "required": ["stream", "payload"],
            }
        return {
            "title": title,
            "payload": payload,
            "correlationId": {"$ref": "#/components/correlationIds/requestId"},
        }


def _data(data_type: object, types: _Types, row: Schema | None) -> Schema:
    """The schema of ``data_type`` in a channel: a model consumer's serializer ``row`` where it
    returns serializer output, else what pydantic says of it."""
    origin = typing.get_origin(data_type) or data_type
    schema = types.data(data_type)
    if row is None:
        return schema
    if origin is ReturnDict:
        return row
    if origin is ReturnList:
        return {"type": "array", "items": row}
    if isinstance(origin, type) and issubclass(origin, Page):
        page = copy.deepcopy(types.resolve(schema))
        page["properties"]["results"]["items"] = row
        return page
    return schema


def _type_key(data_type: object) -> str:
    """The key a data type's schema is generated under."""
    return _identifier(repr(_data_type(data_type)))


def _data_type(data_type: object) -> object:
    """``data_type`` as pydantic can read it: DRF's containers as the dict or list they are."""
    origin = typing.get_origin(data_type) or data_type
    if origin is ReturnDict:
        return dict[str, Any]
    if origin is ReturnList:
        return list[Any]
    return data_type


def _reply(name: str | Schema, data: Schema, status: int | Schema | None = None) -> Schema:
    """A success envelope: ``name`` the action (or its schema), ``status`` the one status (or
    its schema; by default, any 2xx)."""
    if status is None:
        status = {"type": "integer", "minimum": 200, "maximum": 299}
    return {
        "type": "object",
        "properties": {
            "errors": {"type": "array", "maxItems": 0},
            "data": data,
            "action": {"const": name} if isinstance(name, str) else name,
            "response_status": {"const": status} if isinstance(status, int) else status,
            "request_id": _REQUEST_ID,
        },
        "required": ["errors", "data", "action", "response_status", "request_id"],
    }


_DELETED: Schema = {
    "type": "object",
    "properties": {"pk": {"description": "The deleted row's primary key."}},
    "required": ["pk"],
}


def _event_payloads(event: Event, row: Schema) -> dict[str, Schema]:
    """The frames of ``event``'s subscriptions: changed rows (``create``/``update``, 200) and
    deletes (204, ``{"pk"}``) of a model observer, or a signal observer's payloads (200)."""
    observer = event.observer
    if isinstance(observer, SignalObserver):
        return {"event": _reply(observer.action, row, 200)}
    changed = _reply({"enum": ["create", "update"]} if event.creates else "update", row, 200)
    deleted = _reply("delete", _DELETED, 204)
    if event.seq:
        for payload in (changed, deleted):
            payload["properties"]["seq"] = {
                "type": "integer",
                "description": "The change's version (with `seq: true`): `since` resumes after it.",
            }
    return {"change": changed, "delete": deleted}


@dataclass(frozen=True)
class Event:
    """Events a consumer's subscriptions receive: an observer's, what they may be, and
    whether ``seq`` may number them (list subscriptions)."""

    observer: Observer[Any]
    creates: bool = True
    """Whether a row may arrive as a ``create`` (not for an instance subscription)."""
    seq: bool = False


def _events_of(consumer: type[AsyncAPIConsumer]) -> list[tuple[str, Event]]:
    """The consumer's events, by the name of what subscribes to them: ``subscribe_instance``,
    ``subscribe_list`` and each ``observe()`` or ``observe_signal()`` attribute."""
    events: list[tuple[str, Event]] = []
    if issubclass(consumer, ObserveInstanceMixin):
        events.append(("subscribe_instance", Event(consumer.instance_observer, creates=False)))
    if issubclass(consumer, ObserveListMixin):
        events.append(("subscribe_list", Event(consumer.list_observer, seq=True)))
    declared: dict[str, Observer[Any]] = {}
    for klass in reversed(consumer.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, ObservedModel | ObservedSignal):
                # isinstance leaves a generic class's type arguments unknown to pyright.
                attribute: ObservedModel[Any, Any] | ObservedSignal[Any] = value  # pyright: ignore[reportUnknownVariableType]
                declared[name] = attribute.observer
    events += [(name, Event(observer)) for name, observer in sorted(declared.items())]
    return events


def _streams_pages(action: Action[Any, Any]) -> bool:
    """Whether the action sends 206 pages before its reply (``stream_list``, ``subscribe_list``)."""
    return action.func in (
        StreamedListModelMixin.stream_list.func,
        ObserveListMixin.subscribe_list.func,
    )


def serializer_schema(consumer: type[GenericModelConsumer[Any, Any]]) -> Schema:
    """The JSON Schema of one row of ``consumer``'s serializer output, field by field (each
    field DRF writes out is in every row; write-only ones never are)."""
    # The class's own serializer_class, set when it was created from its type parameters.
    serializer: BaseSerializer[Any] = consumer.serializer_class()  # pyright: ignore[reportGeneralTypeIssues]
    mapped: dict[str, Any] = AutoSchema().map_serializer(serializer)  # pyright: ignore[reportUnknownMemberType]  # DRF's stubs leave its parameter's type argument out
    fields: dict[str, Any] = mapped["properties"]
    written = {name: field for name, field in fields.items() if not field.get("writeOnly")}
    return {
        "type": "object",
        "properties": _json_schema(written),
        "required": list(written),
    }


def _json_schema(openapi: object) -> Any:  # JSON, as DRF's OpenAPI mapping gives it
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` becomes a ``null`` alternative."""
    if isinstance(openapi, list):
        return [_json_schema(item) for item in typing.cast("list[object]", openapi)]
    if not isinstance(openapi, dict):
        return openapi
    schema = {k: _json_schema(v) for k, v in typing.cast("dict[str, object]", openapi).items()}
    if schema.pop("nullable", False):
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _error_envelope() -> Schema:
    return {
        "type": "object",
        "properties": {
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {"anyOf": [{"type": "string"}, _FIELD_ERRORS]},
            },
            "data": {"anyOf": [{"type": "null"}, _RETRY]},
            "action": {"type": ["string", "null"]},
            "response_status": {"enum": list(ERROR_STATUSES)},
            "request_id": _REQUEST_ID,
        },
        "required": ["errors", "data", "action", "response_status", "request_id"],
    }


def _summary(action: Action[Any, Any]) -> str:
    doc = (action.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split()) if doc else f"The {action.name} action."


def _identifier(text: str) -> str:
    """A component key from ``text`` (AsyncAPI keys are letters, digits, ``.``, ``_``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "root"
