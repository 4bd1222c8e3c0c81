"""``typescript_client``: a TypeScript module for an AsyncAPI document of ``typed_dcrf.schema``.

For each action: its request and reply types (``…Request``, ``…Args``, ``…Reply``, ``…Data``,
``…Page`` for the pages before its reply, ``…Event`` for its subscription's events), and a client
class per channel whose methods return a promise of the reply's data (a ``Stream`` of pages for
``stream_list`` and ``subscribe_list``), events going to an ``onEvent`` callback. A multiplexed
route gets one more class, a member per stream. The runtime (``Connection``, ``Stream``,
``ApiError``) is ``client.ts``, written at the top.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from typed_dcrf._documents import Schema, message_envelope
from typed_dcrf._typescript_types import (
    WIDTH,
    Names,
    TypeWriter,
    alias,
    comment,
    member_access,
    pascal,
    property_key,
)

_CHANNEL_PREFIX = "#/channels/"
_GLOBALS = (
    "Array", "AsyncGenerator", "AsyncIterable", "AsyncIterator", "Boolean", "Date", "Error",
    "Function", "JSON", "Map", "Number", "Object", "Omit", "Promise", "Record", "Set", "String",
    "Symbol", "WebSocket",
)  # fmt: skip
"""TypeScript's own names that the module uses or a reader expects: never a generated one."""
_RUNTIME_NAME = re.compile(r"^(?:export )?(?:class|interface|type|function|const) (\w+)", re.M)
_ENVELOPE_KEYS = ("action", "request_id")
"""The request's keys that are not arguments."""


def runtime() -> str:
    """The client runtime every generated module starts with."""
    return files("typed_dcrf").joinpath("client.ts").read_text()


def typescript_client(document: Mapping[str, Any]) -> str:
    """The TypeScript module for ``document`` (an ``asyncapi_document``)."""
    base = runtime()
    names = Names([*_GLOBALS, *_RUNTIME_NAME.findall(base)])
    types = TypeWriter(document.get("components", {}).get("schemas", {}), names)
    channels = _channels(document)
    prefixes = Names([])  # one per channel: its names all start with it
    prefix = {channel.id: prefixes.claim(pascal(channel.id)) for channel in channels}
    clients = {channel.id: names.claim(prefix[channel.id] + "Client") for channel in channels}
    code = [
        _channel_code(channel, prefix[channel.id], clients[channel.id], types, names)
        for channel in channels
    ]
    routes = [
        _route_code(address, {c.stream: clients[c.id] for c in streams}, names)
        for address, streams in _routes(channels)
    ]
    info = document.get("info", {})
    head = (
        f"// The typed_dcrf client of {info.get('title', 'an API')} {info.get('version', '')}"
        ", generated from its AsyncAPI document\n"
        "// by `manage.py typescript_client`: regenerate it rather than edit it.\n\n"
    )
    return head + base + "\n" + types.definitions() + "\n" + "\n".join(code + routes)


@dataclass
class _Action:
    name: str
    summary: str
    request: Schema
    reply: Schema
    page: Schema | None = None
    events: list[Schema] = field(default_factory=list[Schema])


@dataclass
class _Channel:
    id: str
    address: str
    stream: str | None
    actions: list[_Action] = field(default_factory=list[_Action])
    observed: list[Schema] = field(default_factory=list[Schema])
    """The events of ``observe()`` and ``observe_signal()`` attributes: any action may
    subscribe to them."""


def _channels(document: Mapping[str, Any]) -> list[_Channel]:
    channels: dict[str, _Channel] = {}
    for key, channel in document.get("channels", {}).items():
        stream = _stream_of(channel)
        channels[key] = _Channel(key, channel["address"], stream)
    operations: Mapping[str, Any] = document.get("operations", {})
    actions: dict[str, _Action] = {}
    for key, operation in operations.items():
        if operation["action"] != "receive":
            continue
        channel = channels[_channel_key(operation["channel"])]
        request = message_envelope(document, operation["messages"][0])
        replies = [message_envelope(document, ref) for ref in operation["reply"]["messages"]]
        successes = [reply for reply in replies if _status(reply) != "error"]
        action = _Action(
            name=request["properties"]["action"]["const"],
            summary=operation.get("summary", ""),
            request=request,
            reply=next(reply for reply in successes if _status(reply) != 206),
            page=next((reply for reply in successes if _status(reply) == 206), None),
        )
        channel.actions.append(action)
        actions[key] = action
    for key, operation in operations.items():
        if operation["action"] != "send":
            continue
        events = [message_envelope(document, ref) for ref in operation["messages"]]
        subscriber = actions.get(key.removesuffix(".events"))
        if subscriber is not None:
            subscriber.events += events
        else:
            channels[_channel_key(operation["channel"])].observed += events
    return list(channels.values())


def _channel_key(ref: Mapping[str, str]) -> str:
    return ref["$ref"].removeprefix(_CHANNEL_PREFIX)


def _stream_of(channel: Mapping[str, Any]) -> str | None:
    """The stream a channel's messages are wrapped in (``None`` on a plain route); every
    channel has one message at least, its error envelope."""
    message = next(iter(channel["messages"].values()))
    stream = message["payload"].get("properties", {}).get("stream", {}).get("const")
    return stream if isinstance(stream, str) else None


def _status(envelope: Mapping[str, Any]) -> int | str:
    """A success envelope's one status (or ``"2xx"``); ``"error"`` for the error envelope."""
    status: Mapping[str, Any] = envelope["properties"]["response_status"]
    if "enum" in status:
        return "error"
    const: int | str = status.get("const", "2xx")
    return const


def _channel_code(
    channel: _Channel, prefix: str, client: str, types: TypeWriter, names: Names
) -> str:
    out: list[str] = []
    observed = None
    if channel.observed:
        observed = names.claim(f"{prefix}Event")
        union = " | ".join(types.type(event) for event in channel.observed)
        doc = "The events of this channel's observers: any action may subscribe."
        out.append(alias(observed, union, doc))
    methods: list[str] = []
    for action in channel.actions:
        base = prefix + pascal(action.name)
        request, args = names.claim(f"{base}Request"), names.claim(f"{base}Args")
        reply, data = names.claim(f"{base}Reply"), names.claim(f"{base}Data")
        omitted = " | ".join(f'"{key}"' for key in _ENVELOPE_KEYS)
        out.append(
            alias(request, types.type(action.request))
            + alias(args, f"Omit<{request}, {omitted}>")
            + alias(reply, types.type(action.reply))
            + alias(data, f'{reply}["data"]')
        )
        page = None
        if action.page is not None:
            page = names.claim(f"{base}Page")
            out.append(alias(page, types.type(action.page["properties"]["data"])))
        event = observed
        if action.events:
            event = names.claim(f"{base}Event")
            union = " | ".join(types.type(one) for one in action.events)
            out.append(alias(event, union))
        methods.append(_method(channel, action, _Signature(args, data, page, event)))
    stream = json.dumps(channel.stream)
    where = channel.address + (f", stream {json.dumps(channel.stream)}" if channel.stream else "")
    out.append(
        comment(f"The actions of {where}.") + f"export class {client} {{\n"
        f"  static readonly address = {json.dumps(channel.address)};\n"
        f"  static readonly stream: string | null = {stream};\n"
        "  readonly #connection: Connection;\n\n"
        "  constructor(connection: Connection) {\n"
        "    this.#connection = connection;\n"
        "  }\n\n" + "\n\n".join(methods) + "\n}\n"
    )
    return "\n".join(out)


@dataclass(frozen=True)
class _Signature:
    """The type names of one action's method."""

    args: str
    data: str
    page: str | None
    event: str | None


def _method(channel: _Channel, action: _Action, signature: _Signature) -> str:
    if action.name == "constructor":
        raise ValueError("An action named 'constructor' cannot be a TypeScript method: rename it.")
    required = [key for key in action.request.get("required", []) if key not in _ENVELOPE_KEYS]
    parameters = [
        f"args: {signature.args}" if required else f"args: {signature.args} = {{}}",
        f"options?: SubscribeOptions<{signature.event}>"
        if signature.event
        else "options?: RequestOptions",
    ]
    stream = json.dumps(channel.stream)
    generics = f"{signature.data}, {signature.event}" if signature.event else signature.data
    call = f"this.#connection.request<{generics}>"
    arguments = [stream, json.dumps(action.name), "args", "options"]
    if signature.page is None:
        returned = f"Promise<{signature.data}>"
        body = _call(f"    return {call}", arguments, ";")
    else:
        returned = f"Stream<{signature.page}, {signature.data}>"
        request = _call(f"      {call}", [*arguments, "onPage"], ",")
        body = f"    return new {returned}((onPage) =>\n{request}    );\n"
    head = f"  {action.name}({', '.join(parameters)}): {returned} {{\n"
    if len(head) > WIDTH:
        listed = "".join(f"    {parameter},\n" for parameter in parameters)
        head = f"  {action.name}(\n{listed}  ): {returned} {{\n"
    doc = comment(action.summary, "  ") if action.summary else ""
    return f"{doc}{head}{body}  }}"


def _call(head: str, arguments: list[str], end: str) -> str:
    """``head(arguments)end``, an argument a line where it is too long."""
    line = f"{head}({', '.join(arguments)}){end}\n"
    if len(line) <= WIDTH:
        return line
    indent = head[: len(head) - len(head.lstrip())]
    listed = "".join(f"{indent}  {argument},\n" for argument in arguments)
    return f"{head}(\n{listed}{indent}){end}\n"


def _routes(channels: list[_Channel]) -> list[tuple[str, list[_Channel]]]:
    """The multiplexed routes, each with its streams' channels."""
    routes: dict[str, list[_Channel]] = {}
    for channel in channels:
        if channel.stream is not None:
            routes.setdefault(channel.address, []).append(channel)
    return list(routes.items())


def _route_code(address: str, clients: Mapping[str | None, str], names: Names) -> str:
    """The class of a multiplexed route: a member per stream, its channel's client."""
    if "constructor" in clients:
        raise ValueError("A stream named 'constructor' cannot be a TypeScript member: rename it.")
    route = names.claim(pascal(address) + "Client")
    members = "".join(f"  readonly {property_key(str(s))}: {c};\n" for s, c in clients.items())
    assigned = "".join(
        f"    this{member_access(str(s))} = new {c}(connection);\n" for s, c in clients.items()
    )
    return (
        comment(f"The streams of the multiplexed route {address}.") + f"export class {route} {{\n"
        f"  static readonly address = {json.dumps(address)};\n"
        f"{members}\n"
        "  constructor(connection: Connection) {\n"
        f"{assigned}"
        "  }\n"
        "}\n"
    )
