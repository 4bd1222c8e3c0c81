"""typed_dcrf.typescript: the client generated from the real servers' AsyncAPI document compiles
with ``tsc --strict`` (and the stricter options of tests/js/typescript/tsconfig.json) beside a
sample and a file of refused misuses, and the sample runs under node against uvicorn and daphne:
CRUD, a custom action, a stream of pages and events."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired

import pytest
from django.core.management import call_command
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from examples.live import Dashboard
from tests.node import TYPESCRIPT, node_with_packages, typescript_project
from tests.server.asgi import application
from tests.server.process import Running, run_unmeasured
from typed_dcrf import AsyncAPIConsumer, Demultiplexer, Response, action
from typed_dcrf._typescript_types import Names, TypeWriter, comment, pascal
from typed_dcrf.routes import websocket_routes
from typed_dcrf.schema import asyncapi_document
from typed_dcrf.types import JSONValue
from typed_dcrf.typescript import runtime, typescript_client

NODE_TIMEOUT = 30.0
"""Seconds for the sample, which gives up by itself after 25 s (5 s for the events)."""


@pytest.fixture(scope="module")
def compiled() -> Iterator[Path]:
    """The generated api.ts, the sample and the type checks, compiled to out/."""
    document = asyncapi_document(websocket_routes(application), title="typed_dcrf tests")
    names = ("sample.ts", "typecheck.ts", "runtime_check.ts")
    sources = {name: (TYPESCRIPT / name).read_text() for name in names}
    with typescript_project({"api.ts": typescript_client(document), **sources}) as built:
        yield built


def test_the_client_compiles_with_strict_typescript(compiled: Path) -> None:
    """tsc accepted api.ts, the sample, and every refusal in typecheck.ts was an error."""
    assert sorted(p.name for p in (compiled / "out").iterdir()) == [
        "api.js",
        "runtime_check.js",
        "sample.js",
        "typecheck.js",
    ]


def test_the_client_runs_against_a_real_server(compiled: Path, server: Running) -> None:
    slug = f"ts-{server.kind}"
    run = [node_with_packages(), "out/sample.js", str(server.port), slug]
    done = run_unmeasured(run, cwd=compiled, timeout=NODE_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    plain, multiplexed = result["plain"], result["multiplexed"]
    row = plain["created"]
    assert row == {**row, "name": "milk", "slug": f"{slug}-item", "done": False, "owner": None}
    assert plain == {
        "created": row,
        "fetched": row,
        "patched": {**row, "done": True},
        "listed": [{**row, "done": True}],
        "sum": 3.5,
        "deleted": None,
        "missing": {"status": 404, "errors": ["Not found"], "action": "retrieve"},
    }
    first, second, third = (f"{slug} {n}" for n in ("first", "second", "third"))
    assert multiplexed == {
        "echoed": "héllo ✓",
        # page_size 1: a page a row, and an empty page after the last full one
        "pages": [[first], [second], []],
        "subscribed": {"count": 2, "resumed": False},
        "changes": [
            {"action": "create", "title": third, "done": False},
            {"action": "update", "title": third, "done": True},
            {"action": "delete", "pk": multiplexed["deleted_pk"]},
        ],
        "deleted_pk": multiplexed["deleted_pk"],
        "instance": [["update", 200], ["delete", 204]],
    }


def test_the_runtime_answers_every_frame(compiled: Path) -> None:
    """tests/js/typescript/runtime_check.ts: the runtime over a socket of its own."""
    done = run_unmeasured([node_with_packages(), "out/runtime_check.js"], cwd=compiled)
    assert done.returncode == 0, done.stdout + done.stderr
    checks: dict[str, Any] = json.loads(done.stdout)
    api_error = {"rejected": "ApiError", "action": "stream_list"}
    server_error = {**api_error, "status": 500, "errors": ["Server error."]}
    closed = {"rejected": "ConnectionClosed"}
    assert checks == {
        "sent_before_open": 0,  # sent once the socket is open
        "sent": [
            {"a": 1, "b": 2, "action": "add", "request_id": 1},
            {"a": "x", "action": "add", "request_id": 2},
            {"action": "nope", "request_id": 3},
        ],
        "replies": [
            {"resolved": 3},
            {
                "rejected": "ApiError",
                "status": 400,
                "errors": [{"a": ["A valid number is required."]}],
                "action": "add",
            },
            {
                "rejected": "ApiError",
                "status": 405,
                "errors": ["Unable to find action in message body."],
                "action": None,
            },
        ],
        "dropped": {"resolved": "a"},  # after six frames that are no reply of it
        "same_request_id": {"rejected": "Error"},
        "first_of_the_two": {"resolved": "ok"},
        "subscribed": {"resolved": None},
        "events": [["update", {"pk": 1, "at": "before"}], ["update", {"pk": 1, "at": "after"}]],
        "other_stream": {"resolved": {"pk": 1}},
        "frame": {
            "stream": "tasks",
            "payload": {"pk": 1, "action": "subscribe_instance", "request_id": 5},
        },
        "pages": {
            "pages": [{"results": [1]}, {"results": [2]}],
            "result": {"resolved": {"end": True}},
        },
        "failed_stream": {
            "seen_before": server_error,
            "pages": [{"results": [1]}],
            "result": server_error,
        },
        "subscription_kept": {
            "subscribed": {"resolved": {"count": 0}},
            "refused": {
                "rejected": "ApiError",
                "status": 404,
                "errors": ["Not found"],
                "action": "retrieve",
            },
            "events": ["create"],
            "errors": [[500, ["Server error."]]],
        },
        "request_id_null": [
            {"resolved": "mine"},
            {"action": "echo", "request_id": None},
        ],
        "not_json": [{"rejected": "TypeError"}, 0],
        "read_twice": "A Stream's pages are read once, by one reader.",
        "closed": [closed, closed],
        "failed_open": [closed, closed],
        "closed_before_open": [closed, closed],
        "open_without_websocket": {"rejected": "Error"},
        "closed_is": "The connection closed before the reply.",
    }


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({}, "unknown"),
        ({"type": "string", "maxLength": 3}, "string"),
        ({"type": "integer"}, "number"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"const": "add"}, '"add"'),
        ({"enum": ["red", "blue", 3]}, '"red" | "blue" | 3'),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "number | null"),
        ({"anyOf": [{"type": "integer"}, {}]}, "unknown"),
        ({"type": "array", "items": {"type": "boolean"}}, "boolean[]"),
        ({"type": "array", "items": {"type": ["string", "null"]}}, "(string | null)[]"),
        ({"type": "array", "maxItems": 0}, "[]"),
        (
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
            "[number, string, ...unknown[]]",
        ),
        (
            {"type": "array", "prefixItems": [{"type": "integer"}], "maxItems": 1},
            "[number]",
        ),
        ({"type": "object"}, "{ [key: string]: unknown }"),
        ({"type": "object", "additionalProperties": False}, "Record<string, never>"),
        (
            {"type": "object", "additionalProperties": {"type": "integer"}},
            "{ [key: string]: number }",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "integer", "description": "A."}, "b-c": {}},
                "required": ["a"],
            },
            '{\n  /** A. */\n  a: number;\n  "b-c"?: unknown;\n}',
        ),
        ({"allOf": [{"$ref": "#/components/schemas/Row"}, {"type": "null"}]}, "Row & null"),
    ],
)
def test_json_schema_as_typescript(schema: dict[str, Any], expected: str) -> None:
    writer = TypeWriter({"Row": {"type": "object"}}, Names([]))
    assert writer.type(schema) == expected


def test_components_are_named_once_when_referred_to() -> None:
    components = {
        "JSONValue": {
            "anyOf": [
                {"type": "array", "items": {"$ref": "#/components/schemas/JSONValue"}},
                {"type": "string"},
            ]
        },
        "Page_dict_str__Any__": {"description": "One page.", "type": "object"},
        "Unused": {"type": "string"},
    }
    writer = TypeWriter(components, Names(["Connection"]))
    assert writer.type({"$ref": "#/components/schemas/JSONValue"}) == "JSONValue"
    assert writer.type({"$ref": "#/components/schemas/Page_dict_str__Any__"}) == "PageDictStrAny"
    assert writer.definitions() == (
        "export type JSONValue = JSONValue[] | string;\n\n"
        "/** One page. */\nexport type PageDictStrAny = { [key: string]: unknown };\n"
    )
    with pytest.raises(ValueError, match="#/components/schemas/Missing is not a schema"):
        writer.type({"$ref": "#/components/schemas/Missing"})


def test_names_are_identifiers_given_once() -> None:
    names = Names(["Connection"])
    assert [names.claim("Connection"), names.claim("WsItems"), names.claim("WsItems")] == [
        "Connection2",
        "WsItems",
        "WsItems2",
    ]
    assert [pascal("ws.items", "subscribe_list"), pascal("/"), pascal("2fa")] == [
        "WsItemsSubscribeList",
        "T",
        "T2fa",
    ]


def test_a_long_comment_is_wrapped() -> None:
    assert comment("Ends */ here.") == "/** Ends *\\/ here. */\n"
    wrapped = comment("word " * 30, "  ")
    assert wrapped.startswith("  /**\n   * word")
    assert all(len(line) <= 100 for line in wrapped.splitlines())


def test_a_multiplexed_route_gets_a_member_per_stream() -> None:
    document = asyncapi_document(websocket_routes(application), title="t")
    code = typescript_client(document)
    assert code.count(runtime()) == 1
    route = code[code.index("export class WsClient {") :]
    for stream, client in [("items", "WsItems2Client"), ("echo", "WsEchoClient")]:
        assert f"  readonly {stream}: {client};\n" in route
        assert f"    this.{stream} = new {client}(connection);\n" in route


def test_observers_events_reach_any_action() -> None:
    """A consumer's observe() and observe_signal() events are one union that every action of
    its channel may receive; it compiles."""
    code = typescript_client(asyncapi_document({"/ws/dashboard/": Dashboard}, title="live"))
    assert "export type WsDashboardEvent = {\n" in code
    assert '  action: "announcement";\n' in code
    # follow_mine, follow_news and unfollow
    assert code.count("    options?: SubscribeOptions<WsDashboardEvent>,\n") == 3
    with typescript_project({"api.ts": code}) as built:
        assert (built / "out" / "api.js").is_file()


@dataclasses.dataclass
class Promise:
    """A type named as TypeScript's own."""

    kept: bool


@dataclasses.dataclass
class Pending:
    """A type named as one of the runtime's."""

    since: int


class Clashing(AsyncAPIConsumer):
    @action
    async def promise(self, value: Pending) -> Response[Promise]:
        return Response.ok(Promise(kept=value.since > 0))


class Constructing(AsyncAPIConsumer):
    @action
    async def constructor(self) -> Response[None]:
        return Response.ok(None)


def test_names_never_shadow_typescripts_or_the_runtimes() -> None:
    code = typescript_client(asyncapi_document({"/ws/": Clashing}, title="clash"))
    assert "export type Promise2 = {\n" in code
    assert "export type Pending2 = {\n" in code
    assert "): Promise<WsPromiseData> {\n" in code
    with typescript_project({"api.ts": code}) as built:
        assert (built / "out" / "api.js").is_file()


def test_a_constructor_action_is_refused() -> None:
    document = asyncapi_document({"/ws/": Constructing}, title="constructing")
    with pytest.raises(ValueError, match="An action named 'constructor' cannot be a TypeScript"):
        typescript_client(document)

    class Streams(Demultiplexer):
        streams = {"constructor": Types}

    document = asyncapi_document({"/ws/": Streams}, title="streams")
    with pytest.raises(ValueError, match="A stream named 'constructor' cannot be a TypeScript"):
        typescript_client(document)


def test_the_command_writes_the_client(settings: Any, tmp_path: Path) -> None:
    settings.ASGI_APPLICATION = "tests.server.asgi.application"
    out = io.StringIO()
    call_command("typescript_client", "--title", "tests", stdout=out)
    document = asyncapi_document(websocket_routes(application), title="tests")
    assert out.getvalue() == typescript_client(document)
    target = tmp_path / "frontend" / "api.ts"  # the directory is made
    err = io.StringIO()
    call_command("typescript_client", "-o", str(target), stderr=err)
    assert target.read_text().startswith("// The typed_dcrf client of tests.server.asgi 1.0.0")
    assert err.getvalue() == f"Wrote {target} (9 channels).\n"


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(TypedDict):
    x: int
    label: NotRequired[str]


@dataclasses.dataclass
class Pair:
    a: int
    b: str | None = None


class Named(BaseModel):
    name: str
    tags: list[str] = []


class Types(AsyncAPIConsumer):
    """An action per Python type: its argument and its reply are that type."""

    @action
    async def text(self, value: Annotated[str, Field(max_length=5, pattern="^a")]) -> Response[str]:
        return Response.ok(value)

    @action
    async def bounded(self, value: Annotated[int, Field(ge=0, le=9)]) -> Response[int]:
        return Response.ok(value)

    @action
    async def real(self, value: float) -> Response[float]:
        return Response.ok(value)

    @action
    async def flag(self, value: bool | None) -> Response[bool | None]:
        return Response.ok(value)

    @action
    async def literal(self, value: Literal["a", 1]) -> Response[Literal["a", 1]]:
        return Response.ok(value)

    @action
    async def colour(self, value: Colour) -> Response[Colour]:
        return Response.ok(value)

    @action
    async def when(self, value: datetime.datetime) -> Response[datetime.date]:
        return Response.ok(value.date())

    @action
    async def ident(self, value: uuid.UUID) -> Response[uuid.UUID]:
        return Response.ok(value)

    @action
    async def amount(self, value: decimal.Decimal) -> Response[decimal.Decimal]:
        return Response.ok(value)

    @action
    async def pair(self, value: tuple[int, str]) -> Response[tuple[int, ...]]:
        return Response.ok((value[0],))

    @action
    async def unique(self, value: set[int]) -> Response[list[int]]:
        return Response.ok(sorted(value))

    @action
    async def counts(self, value: dict[str, int]) -> Response[dict[int, str]]:
        return Response.ok({n: key for key, n in value.items()})

    @action
    async def either(self, value: int | str) -> Response[int | str]:
        return Response.ok(value)

    @action
    async def point(self, value: Point) -> Response[Point]:
        return Response.ok(value)

    @action
    async def pairs(self, value: Pair) -> Response[Pair]:
        return Response.ok(value)

    @action
    async def named(self, value: Named) -> Response[Named]:
        return Response.ok(value)

    @action
    async def anything(self, value: JSONValue) -> Response[object]:
        return Response.ok(value)


# An action's argument and reply as TypeScript, from the JSON Schema pydantic gives each (the
# argument as it is validated, the reply as it is serialized).
TYPES = {
    "text": ("string", "string"),
    "bounded": ("number", "number"),
    "real": ("number", "number"),
    "flag": ("boolean | null", "boolean | null"),
    "literal": ('"a" | 1', '"a" | 1'),
    "colour": ("Colour", "Colour"),
    "when": ("string", "string"),
    "ident": ("string", "string"),
    "amount": ("number | string", "string"),
    "pair": ("[number, string]", "number[]"),
    "unique": ("number[]", "number[]"),
    "counts": ("{ [key: string]: number }", "{ [key: string]: string }"),
    "either": ("number | string", "number | string"),
    "point": ("Point", "Point"),
    # pydantic names a type twice where arguments and replies differ: in a reply, a field
    # with a default is always there; in an argument, it may be left out.
    "pairs": ("PairInput", "PairOutput"),
    "named": ("NamedInput", "NamedOutput"),
    "anything": ("JSONValue", "unknown"),
}
DEFINITIONS = {
    "Colour": '"red" | "blue"',
    "Point": "{\n  x: number;\n  label?: string;\n}",
    "Pair-Input": "{\n  a: number;\n  b?: string | null;\n}",
    "Pair-Output": "{\n  a: number;\n  b: string | null;\n}",
    "Named-Input": "{\n  name: string;\n  tags?: string[];\n}",
    "Named-Output": "{\n  name: string;\n  tags: string[];\n}",
}


def test_python_types_as_json_schema_and_typescript() -> None:
    document = asyncapi_document({"/types/": Types}, title="types")
    messages = document["channels"]["types"]["messages"]
    components = document["components"]["schemas"]
    writer = TypeWriter(components, Names([]))
    written = {
        name: (
            writer.type(messages[f"{name}_request"]["payload"]["properties"]["value"]),
            writer.type(messages[f"{name}_reply"]["payload"]["properties"]["data"]),
        )
        for name in Types.actions
    }
    assert written == TYPES
    text = messages["text_request"]["payload"]["properties"]["value"]
    assert (text["maxLength"], text["pattern"]) == (5, "^a")  # in the document, not in the type
    for name, expected in DEFINITIONS.items():
        assert writer.type(components[name]) == expected, name
