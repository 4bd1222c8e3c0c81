"""@action: signatures compiled into validators, DRF-shaped 400s, definition-time errors."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from annotated_types import Ge, MaxLen
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict

from typed_dcrf import ActionContext, AsyncAction, AsyncAPIConsumer, Response, SyncAction, action
from typed_dcrf.testing import ApiClient, ErrorReply
from typed_dcrf.types import JSONObject, JSONValue


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(TypedDict):
    x: int
    y: int


@dataclass
class Address:
    street: str
    zip: Annotated[str, MaxLen(5)]


class Tag(BaseModel):
    name: str
    weight: float = 1.0


class TypesConsumer(AsyncAPIConsumer):
    """One action per supported parameter type; each echoes what it was given."""

    @action
    async def a_str(self, value: str) -> Response[str]:
        return Response.ok(value)

    @action
    async def a_int(self, value: int) -> Response[int]:
        return Response.ok(value)

    @action
    async def a_float(self, value: float) -> Response[float]:
        return Response.ok(value)

    @action
    async def a_bool(self, value: bool) -> Response[bool]:
        return Response.ok(value)

    @action
    async def a_none(self, value: None) -> Response[None]:
        return Response.ok(value)

    @action
    async def a_optional(self, value: int | None) -> Response[int | None]:
        return Response.ok(value)

    @action
    async def a_union(self, value: int | str) -> Response[int | str]:
        return Response.ok(value)

    @action
    async def a_point_or_int(self, value: Point | int) -> Response[Point | int]:
        return Response.ok(value)

    @action
    async def a_literal(self, value: Literal["a", "b"]) -> Response[str]:
        return Response.ok(value)

    @action
    async def a_enum(self, value: Color) -> Response[Color]:
        return Response.ok(value)

    @action
    async def a_uuid(self, value: uuid.UUID) -> Response[uuid.UUID]:
        return Response.ok(value)

    @action
    async def a_datetime(self, value: dt.datetime) -> Response[dt.datetime]:
        return Response.ok(value)

    @action
    async def a_date(self, value: dt.date) -> Response[dt.date]:
        return Response.ok(value)

    @action
    async def a_time(self, value: dt.time) -> Response[dt.time]:
        return Response.ok(value)

    @action
    async def a_timedelta(self, value: dt.timedelta) -> Response[dt.timedelta]:
        return Response.ok(value)

    @action
    async def a_decimal(self, value: Decimal) -> Response[Decimal]:
        return Response.ok(value)

    @action
    async def a_list(self, value: list[int]) -> Response[list[int]]:
        return Response.ok(value)

    @action
    async def a_tuple(self, value: tuple[int, str]) -> Response[tuple[int, str]]:
        return Response.ok(value)

    @action
    async def a_set(self, value: set[int]) -> Response[list[int]]:
        return Response.ok(sorted(value))

    @action
    async def a_dict(self, value: dict[str, int]) -> Response[dict[str, int]]:
        return Response.ok(value)

    @action
    async def a_typeddict(self, value: Point) -> Response[Point]:
        return Response.ok(value)

    @action
    async def a_dataclass(self, value: Address) -> Response[Address]:
        return Response.ok(value)

    @action
    async def a_model(self, value: Tag) -> Response[Tag]:
        return Response.ok(value)

    @action
    async def a_constrained(self, value: Annotated[int, Ge(0)]) -> Response[int]:
        return Response.ok(value)


VALID_CASES: list[tuple[str, JSONValue, JSONValue]] = [
    ("a_str", "text", "text"),
    ("a_int", 3, 3),
    ("a_int", "4", 4),
    ("a_float", 1.5, 1.5),
    ("a_bool", True, True),
    ("a_none", None, None),
    ("a_optional", None, None),
    ("a_optional", 5, 5),
    ("a_union", "x", "x"),
    ("a_point_or_int", 3, 3),
    ("a_point_or_int", {"x": 1, "y": 2}, {"x": 1, "y": 2}),
    ("a_literal", "b", "b"),
    ("a_enum", "red", "red"),
    (
        "a_uuid",
        "12345678-1234-5678-1234-567812345678",
        "12345678-1234-5678-1234-567812345678",
    ),
    ("a_datetime", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
    ("a_date", "2026-01-02", "2026-01-02"),
    ("a_time", "03:04:05", "03:04:05"),
    ("a_timedelta", "PT90S", "PT1M30S"),
    ("a_decimal", "1.10", "1.10"),
    ("a_list", [1, 2], [1, 2]),
    ("a_tuple", [1, "a"], [1, "a"]),
    ("a_set", [3, 1, 3], [1, 3]),
    ("a_dict", {"a": 1}, {"a": 1}),
    ("a_typeddict", {"x": 1, "y": 2}, {"x": 1, "y": 2}),
    ("a_dataclass", {"street": "Main", "zip": "123"}, {"street": "Main", "zip": "123"}),
    ("a_model", {"name": "n"}, {"name": "n", "weight": 1.0}),
    ("a_constrained", 0, 0),
]


async def roundtrip(consumer: type[AsyncAPIConsumer], frame: JSONObject) -> JSONObject:
    """Send one frame to a fresh connection and return the reply."""
    async with ApiClient(consumer) as client:
        await client.send(frame)
        return await client.receive()


@pytest.mark.parametrize(("name", "sent", "expected"), VALID_CASES)
async def test_supported_parameter_types_validate_and_serialize(
    name: str, sent: JSONValue, expected: JSONValue
) -> None:
    """Each supported parameter type accepts its JSON form and replies with it."""
    reply = await roundtrip(TypesConsumer, {"action": name, "value": sent})
    assert reply["response_status"] == 200, reply
    assert reply["data"] == expected


INVALID_CASES: list[tuple[str, JSONValue, JSONValue]] = [
    ("a_int", "x", {"value": ["A valid integer is required."]}),
    ("a_int", 1.5, {"value": ["A valid integer is required."]}),
    ("a_str", 5, {"value": ["Not a valid string."]}),
    ("a_bool", "maybe", {"value": ["Must be a valid boolean."]}),
    ("a_literal", "c", {"value": ["Input should be 'a' or 'b'."]}),
    ("a_enum", "green", {"value": ["Input should be 'red' or 'blue'."]}),
    ("a_uuid", "nope", {"value": ["Must be a valid UUID."]}),
    ("a_constrained", -1, {"value": ["Input should be greater than or equal to 0."]}),
    ("a_list", [1, "x"], {"value": {"1": ["A valid integer is required."]}}),
    ("a_union", [1], {"value": ["A valid integer is required.", "Not a valid string."]}),
    ("a_dict", {"a": "x", "b": 1}, {"value": {"a": ["A valid integer is required."]}}),
    (  # the union's model errs within, its int as a whole: DRF's nested non_field_errors
        "a_point_or_int",
        {"x": "a", "y": 1},
        {
            "value": {
                "x": ["A valid integer is required."],
                "non_field_errors": ["A valid integer is required."],
            }
        },
    ),
    (
        "a_dataclass",
        {"street": "Main", "zip": "123456"},
        {"value": {"zip": ["String should have at most 5 characters."]}},
    ),
    ("a_typeddict", {"x": 1}, {"value": {"y": ["This field is required."]}}),
    ("a_model", {}, {"value": {"name": ["This field is required."]}}),
]


async def test_a_reply_lists_the_first_hundred_errors_then_how_many_more() -> None:
    """100,000 wrong items are answered with the first 100 errors and a count of the rest, not
    ten times the frame's size."""
    wrong: list[JSONValue] = ["x"] * 100_000
    reply = await roundtrip(TypesConsumer, {"action": "a_list", "value": wrong})
    assert reply["errors"] == [
        {
            "value": {str(n): ["A valid integer is required."] for n in range(100)},
            "non_field_errors": ["99900 more errors not listed."],
        }
    ]


@pytest.mark.parametrize(("name", "sent", "errors"), INVALID_CASES)
async def test_invalid_arguments_are_400_nested_like_drf(
    name: str, sent: JSONValue, errors: JSONValue
) -> None:
    """A value of the wrong shape is a 400 whose errors nest like DRF serializer errors."""
    reply = await roundtrip(TypesConsumer, {"action": name, "value": sent, "request_id": 9})
    assert reply == {
        "errors": [errors],
        "data": None,
        "action": name,
        "response_status": 400,
        "request_id": 9,
    }


class FormConsumer(AsyncAPIConsumer):
    @action
    async def register(
        self, name: Annotated[str, MaxLen(5)], age: int, *, newsletter: bool = False
    ) -> Response[dict[str, Any]]:
        return Response.created({"name": name, "age": age, "newsletter": newsletter})


async def test_every_error_is_reported_at_once() -> None:
    """Missing, invalid and unknown arguments are all listed in one 400."""
    reply = await roundtrip(FormConsumer, {"action": "register", "name": "toolong", "extra": 1})
    assert reply["response_status"] == 400
    assert reply["errors"] == [
        {
            "name": ["String should have at most 5 characters."],
            "age": ["This field is required."],
            "extra": ["Unexpected field."],
        }
    ]


async def test_defaults_and_keyword_only_parameters() -> None:
    """Omitted parameters take their defaults; keyword-only ones are ordinary arguments."""
    async with ApiClient(FormConsumer) as client:
        first = await client.call(FormConsumer.register, "ann", 30)
        second = await client.call(FormConsumer.register, name="bob", age=40, newsletter=True)
    assert first.status == 201
    assert first.data == {"name": "ann", "age": 30, "newsletter": False}
    assert second.data == {"name": "bob", "age": 40, "newsletter": True}


async def test_unknown_arguments_are_400_by_default() -> None:
    """A key that is not a parameter is a 400 naming it."""
    reply = await roundtrip(FormConsumer, {"action": "register", "name": "a", "age": 1, "x": 0})
    assert reply["errors"] == [{"x": ["Unexpected field."]}]


@override_settings(TYPED_DCRF={"ALLOW_UNKNOWN_ARGUMENTS": True})
async def test_unknown_arguments_are_ignored_when_the_setting_allows() -> None:
    """With ALLOW_UNKNOWN_ARGUMENTS, extra keys are dropped and the action runs."""
    reply = await roundtrip(FormConsumer, {"action": "register", "name": "a", "age": 1, "x": 0})
    assert reply["response_status"] == 201
    assert reply["data"] == {"name": "a", "age": 1, "newsletter": False}


class NamedConsumer(AsyncAPIConsumer):
    @action(name="get-time")
    async def current_time(self) -> Response[str]:
        return Response.ok("now")

    @action()
    def sync_echo(self, text: str) -> Response[str]:
        return Response.ok(text)


async def test_name_option_sets_the_wire_name() -> None:
    """@action(name=...) answers frames with that name, not the method's."""
    async with ApiClient(NamedConsumer) as client:
        await client.send({"action": "get-time"})
        assert (await client.receive())["data"] == "now"
        await client.send({"action": "current_time"})
        assert (await client.receive())["response_status"] == 405


def test_descriptor_kinds_and_collected_actions() -> None:
    """Async methods become AsyncAction, sync ones SyncAction, collected by wire name."""
    assert isinstance(NamedConsumer.current_time, AsyncAction)
    assert isinstance(NamedConsumer.sync_echo, SyncAction)
    assert set(NamedConsumer.actions) == {"get-time", "sync_echo"}
    assert NamedConsumer.actions["get-time"] is NamedConsumer.current_time
    assert "NamedConsumer.current_time" in repr(NamedConsumer.current_time)


def test_instance_access_gives_the_bound_method() -> None:
    """On an instance an action is the plain bound method, callable directly."""
    consumer = NamedConsumer()
    assert consumer.sync_echo("hi") == Response.ok("hi")


class BaseActions(AsyncAPIConsumer):
    @action
    async def ping(self) -> Response[str]:
        return Response.ok("base")

    @action
    async def hidden(self) -> Response[str]:
        return Response.ok("base")


class ChildActions(BaseActions):
    @action
    async def ping(self) -> Response[str]:
        return Response.ok("child")

    # A plain override is no longer an action (and type checkers flag the change of kind).
    async def hidden(self) -> Response[str]:  # pyright: ignore[reportIncompatibleVariableOverride]
        return Response.ok("child")


async def test_subclasses_inherit_and_override_actions() -> None:
    """Subclasses inherit actions; an override replaces one; a plain method hides one."""
    assert set(ChildActions.actions) == {"ping"}
    reply = await roundtrip(ChildActions, {"action": "ping"})
    assert reply["data"] == "child"
    assert (await roundtrip(ChildActions, {"action": "hidden"}))["response_status"] == 405
    assert (await roundtrip(BaseActions, {"action": "ping"}))["data"] == "base"


class PingMixin:
    """Actions defined outside any consumer, mixed in later."""

    @action
    async def ping(self, times: int = 1) -> Response[str]:
        return Response.ok("pong" * times)


class MixedConsumer(PingMixin, AsyncAPIConsumer):
    pass


async def test_actions_from_plain_mixins_are_compiled_and_served() -> None:
    """An action inherited from a plain mixin is validated and answered like any other."""
    async with ApiClient(MixedConsumer) as client:
        assert (await client.call(MixedConsumer.ping, times=2)).data == "pongpong"
        await client.send({"action": "ping", "times": "x"})
        assert (await client.receive())["response_status"] == 400


class ContextConsumer(AsyncAPIConsumer):
    @action
    async def whoami(self, pk: int) -> Response[dict[str, Any]]:
        context = self.context
        return Response.ok(
            {
                "action": context.action,
                "request_id": context.request_id,
                "user": str(context.user),
                "arguments": dict(context.arguments),
                "path": context.scope["path"],
            }
        )

    @action
    def whoami_sync(self) -> Response[JSONValue]:
        return Response.ok(self.context.request_id)


async def test_actions_read_their_request_context() -> None:
    """self.context gives the action name, request_id, user, arguments and scope."""
    reply = await roundtrip(ContextConsumer, {"action": "whoami", "pk": "5", "request_id": "r"})
    assert reply["data"] == {
        "action": "whoami",
        "request_id": "r",
        "user": "AnonymousUser",
        "arguments": {"pk": 5},
        "path": "/ws/",
    }


async def test_sync_actions_read_their_request_context() -> None:
    """The context reaches sync actions running in the database thread."""
    reply = await roundtrip(ContextConsumer, {"action": "whoami_sync", "request_id": [1]})
    assert reply["data"] == [1]


def test_context_outside_an_action_is_an_error() -> None:
    """Reading self.context outside an action raises a clear RuntimeError."""
    with pytest.raises(RuntimeError, match="only available while an action runs"):
        _ = ContextConsumer().context


def test_action_context_is_immutable() -> None:
    """ActionContext is a frozen value."""
    context = ActionContext("a", None, {}, AnonymousUser(), {})
    with pytest.raises(AttributeError):
        context.action = "b"  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]


def define(body: str) -> None:
    """Execute a consumer class definition (for definition-time errors)."""
    namespace: dict[str, object] = {
        "AsyncAPIConsumer": AsyncAPIConsumer,
        "Response": Response,
        "action": action,
    }
    exec(body, namespace)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def send(self) -> Response[int]: ...\n",
            r"C\.send: the action's method name hides the consumer's own 'send'; rename the "
            r"method and keep the wire name with @action\(name='send'\)",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    def context(self) -> Response[int]: ...\n",
            r"C\.context: the action's method name hides the consumer's own 'context'",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self, x) -> Response[int]: ...\n",
            r"C\.a: parameter 'x' has no annotation; annotate it",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self, *args: int) -> Response[int]: ...\n",
            r"C\.a: \*args is not allowed; declare each argument",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self, **kwargs: int) -> Response[int]: ...\n",
            r"C\.a: \*\*kwargs is not allowed",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self, x: int, /) -> Response[int]: ...\n",
            r"C\.a: parameter 'x' is positional-only",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self, request_id: int) -> Response[int]: ...\n",
            r"C\.a: parameter 'request_id' is an envelope key; rename",
        ),
        (
            "class C(AsyncAPIConsumer):\n    @action\n    async def a(self): ...\n",
            r"C\.a: actions must be annotated `-> Response\[T\]`, found no return annotation",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self) -> tuple[dict[str, int], int]: ...\n",
            r"C\.a: actions must be annotated `-> Response\[T\]`, found tuple",
        ),
        (
            "class C(AsyncAPIConsumer):\n    @action\n    async def a(self) -> Response: ...\n",
            r"C\.a: actions must be annotated `-> Response\[T\]`",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self) -> Response[int]: ...\n"
            "    @action(name='a')\n"
            "    async def b(self) -> Response[int]: ...\n",
            r"C: actions 'a' and 'b' are both named 'a'; give one of them another name=",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action(atomic=True)\n"
            "    async def a(self) -> Response[int]: ...\n",
            r"C\.a: atomic= applies to sync actions; make the method a plain `def`",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action(detached=True)\n"
            "    def a(self) -> Response[int]: ...\n",
            r"C\.a: detached= applies to async actions; make the method `async def`",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self, x: 'Undefined') -> Response[int]: ...\n",
            r"C\.a: cannot resolve an annotation .*define it before the consumer",
        ),
        (
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self, x: AsyncAPIConsumer) -> Response[int]: ...\n",
            r"C\.a: a parameter or the Response type is not supported by pydantic",
        ),
        (
            "from pydantic import BaseModel\n"
            "class Later(BaseModel):\n"
            "    other: 'Missing'\n"
            "class C(AsyncAPIConsumer):\n"
            "    @action\n"
            "    async def a(self, x: Later) -> Response[int]: ...\n",
            r"C\.a: a parameter or the Response type is not fully defined for pydantic\.",
        ),
    ],
    ids=[
        "shadows-send",
        "shadows-context",
        "unannotated",
        "star-args",
        "star-kwargs",
        "positional-only",
        "reserved-name",
        "no-return",
        "tuple-return",
        "bare-response",
        "duplicate-name",
        "atomic-async",
        "detached-sync",
        "unresolvable",
        "unsupported-type",
        "undefined-model-field",
    ],
)
def test_definition_errors_name_class_action_and_fix(body: str, message: str) -> None:
    """Mistakes in an action fail when the class is defined, saying how to fix them."""
    with pytest.raises(ImproperlyConfigured, match=message):
        define(body)


def test_action_outside_a_class_has_no_signature() -> None:
    """An action never placed in a consumer class says so when used."""

    async def loose(self: object) -> Response[int]:
        return Response.ok(1)

    with pytest.raises(ImproperlyConfigured, match="outside a consumer class"):
        _ = action(loose).signature


async def test_error_reply_raises_in_the_test_client() -> None:
    """ApiClient.call raises ErrorReply with status and errors for a non-2xx reply."""
    async with ApiClient(TypesConsumer) as client:
        with pytest.raises(ErrorReply) as caught:
            await client.call(TypesConsumer.a_int, value="x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert caught.value.status == 400
    assert caught.value.errors == [{"value": ["A valid integer is required."]}]


class SharesCodecs(AsyncAPIConsumer):
    @action
    async def first(self) -> Response[list[int]]:
        return Response.ok([1])

    @action
    async def second(self, x: int) -> Response[list[int]]:
        return Response.ok([x])

    @action
    async def other(self) -> Response[str]:
        return Response.ok("")

    @action
    async def noted(self) -> Response[Annotated[int, {"unit": "s"}]]:  # unhashable metadata
        return Response.ok(1)

    @action
    async def noted_too(self) -> Response[Annotated[int, {"unit": "s"}]]:
        return Response.ok(2)


async def test_actions_of_one_data_type_share_its_codec() -> None:
    """The serializer of ``T`` is compiled once for every action that returns it; a type that
    cannot be hashed gets one of its own, which serializes all the same."""
    output = {name: found.signature.output for name, found in SharesCodecs.actions.items()}
    assert output["first"] is output["second"]
    assert output["first"] is not output["other"]
    assert output["noted"] is not output["noted_too"]
    async with ApiClient(SharesCodecs) as client:
        assert (await client.call(SharesCodecs.noted_too)).data == 2


@dataclass
class Pair:
    """An argument type of one test only: no other consumer has had pydantic check it."""

    left: int
    right: int


async def test_arguments_are_checked_per_type_with_the_class_and_compiled_on_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Creating a class checks each new argument type once (``Pair`` for two actions); each
    action's validator of all its arguments is built when the action is first called."""
    built: list[object] = []

    class Counting:
        """``TypeAdapter`` (final), as ``_signature`` calls it: ``TypeAdapter[T](type_)``."""

        def __getitem__(self, _: object) -> Counting:
            return self

        def __call__(self, type_: Any) -> TypeAdapter[Any]:
            built.append(type_)
            return TypeAdapter(type_)

    monkeypatch.setattr("typed_dcrf._signature.TypeAdapter", Counting())

    class Pairs(AsyncAPIConsumer):
        @action()
        async def add(self, pair: Pair) -> Response[int]:
            return Response.ok(pair.left + pair.right)

        @action()
        async def swap(self, pair: Pair, times: int = 1) -> Response[Pair]:
            return Response.ok(Pair(pair.right, pair.left) if times % 2 else pair)

    assert built == [Pair]
    async with ApiClient(Pairs) as client:
        assert (await client.call(Pairs.add, pair=Pair(1, 2))).data == 3
        assert (await client.call(Pairs.add, pair=Pair(2, 2))).data == 4
        assert len(built) == 2
        assert (await client.call(Pairs.swap, pair=Pair(1, 2))).data == Pair(2, 1)
    assert len(built) == 3


class Unhashable(AsyncAPIConsumer):
    @action
    async def seconds(self, n: Annotated[int, Ge(0), {"unit": "s"}]) -> Response[int]:
        return Response.ok(n)


async def test_an_argument_annotation_that_cannot_be_hashed_is_checked_and_validated() -> None:
    """An annotation with unhashable metadata is checked without the per-annotation cache, and
    validated as any other."""
    async with ApiClient(Unhashable) as client:
        assert (await client.call(Unhashable.seconds, n=3)).data == 3
        with pytest.raises(ErrorReply) as refused:
            await client.call(Unhashable.seconds, n=-1)
    assert refused.value.status == 400


async def test_an_action_read_from_a_consumer_is_its_method_bound_to_it() -> None:
    """From the class, the action itself (what the test client calls); from a consumer, its
    method, bound: another action or handler of the consumer can call it directly."""
    consumer = TypesConsumer()
    assert await consumer.a_int(3) == Response.ok(3)
    assert isinstance(TypesConsumer.a_int, AsyncAction)
