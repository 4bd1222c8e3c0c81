"""Response[T]: immutable, 2xx only, and serialized by the action's compiled serializer, which
never sends inf or NaN."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Annotated, Any, cast

import pytest
from pydantic import AllowInfNan, BaseModel
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList
from typing_extensions import TypedDict

from typed_dcrf import AsyncAPIConsumer, Response, action
from typed_dcrf.testing import ApiClient, ErrorReply, Stream, UnexpectedReply
from typed_dcrf.types import JSONObject, JSONValue


@dataclass
class EmailSent:
    queued: bool
    to: str
    at: dt.datetime


class Totals(TypedDict):
    count: int
    names: list[str]


class Profile(BaseModel):
    name: str
    tags: list[str] = []


class BookSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField()
    pages = serializers.IntegerField()


SENT_AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


class OutputConsumer(AsyncAPIConsumer):
    @action
    async def dataclass_out(self) -> Response[EmailSent]:
        return Response.ok(EmailSent(queued=True, to="a@b.c", at=SENT_AT))

    @action
    async def typeddict_out(self) -> Response[Totals]:
        return Response.ok(Totals(count=2, names=["a", "b"]))

    @action
    async def model_out(self) -> Response[Profile]:
        return Response.accepted(Profile(name="ann", tags=["x"]))

    @action
    async def json_out(self) -> Response[JSONValue]:
        return Response.ok({"list": [1, 2.5, "s", None, True], "nested": {"k": []}})

    @action
    async def drf_dict(self) -> Response[ReturnDict[Any, Any]]:
        # The DRF stubs return a bare ReturnDict / ReturnList, whose parameters pyright
        # reports as unknown.
        serializer = BookSerializer({"title": "Dune", "pages": 412})
        data: ReturnDict[Any, Any] = serializer.data  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        return Response.ok(data)

    @action
    async def drf_list(self) -> Response[ReturnList[Any]]:
        books = [{"title": "Dune", "pages": 412}, {"title": "Emma", "pages": 300}]
        serializer = serializers.ListSerializer(child=BookSerializer(), instance=books)
        data: ReturnList[Any] = serializer.data  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        return Response.ok(data)

    @action
    async def nothing(self) -> Response[None]:
        return Response.no_content()


@pytest.mark.parametrize(
    ("name", "status", "data"),
    [
        ("dataclass_out", 200, {"queued": True, "to": "a@b.c", "at": "2026-01-02T03:04:05Z"}),
        ("typeddict_out", 200, {"count": 2, "names": ["a", "b"]}),
        ("model_out", 202, {"name": "ann", "tags": ["x"]}),
        ("json_out", 200, {"list": [1, 2.5, "s", None, True], "nested": {"k": []}}),
        ("drf_dict", 200, {"title": "Dune", "pages": 412}),
        (
            "drf_list",
            200,
            [{"title": "Dune", "pages": 412}, {"title": "Emma", "pages": 300}],
        ),
        ("nothing", 204, None),
    ],
)
async def test_data_is_serialized_to_json(name: str, status: int, data: JSONValue) -> None:
    """Dataclasses, TypedDicts, pydantic models, JSON values and DRF data become JSON."""
    async with ApiClient(OutputConsumer) as client:
        await client.send({"action": name})
        reply = await client.receive()
    assert reply["response_status"] == status
    assert reply["data"] == data
    assert reply["errors"] == []


async def test_test_client_parses_data_back_into_t() -> None:
    """ApiClient.call returns data as the action's T (a dataclass here, not a dict)."""
    async with ApiClient(OutputConsumer) as client:
        reply = await client.call(OutputConsumer.dataclass_out)
        model = await client.call(OutputConsumer.model_out)
    assert reply == Response(EmailSent(queued=True, to="a@b.c", at=SENT_AT), 200)
    assert model.data == Profile(name="ann", tags=["x"])
    assert model.status == 202


async def test_test_client_rebuilds_drf_containers() -> None:
    """Actions returning serializer.data give a ReturnDict / ReturnList in the test client."""
    async with ApiClient(OutputConsumer) as client:
        single = await client.call(OutputConsumer.drf_dict)
        many = await client.call(OutputConsumer.drf_list)
    assert isinstance(single.data, ReturnDict)
    assert single.data == {"title": "Dune", "pages": 412}
    assert isinstance(many.data, ReturnList)
    assert many.data[1] == {"title": "Emma", "pages": 300}


def test_constructors_set_the_usual_statuses() -> None:
    """ok 200, created 201, accepted 202, no_content 204 with data None."""
    assert Response.ok(1) == Response(1, 200)
    assert Response.created("x").status == 201
    assert Response.accepted([1]).status == 202
    assert Response.no_content() == Response(None, 204)
    assert Response(5).status == 200


@pytest.mark.parametrize("status", [100, 199, 300, 400, 404, 500])
def test_non_2xx_statuses_are_refused(status: int) -> None:
    """A Response is a success; failures are raised as APIError instead."""
    with pytest.raises(ValueError, match="must be 2xx"):
        # The types refuse it too; an int from elsewhere is refused when the response is made.
        Response(None, status)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_responses_are_immutable() -> None:
    """A Response cannot be changed after creation."""
    response = Response.ok(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        response.status = 200  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]


@dataclass
class Sum:
    sum: float


class FloatConsumer(AsyncAPIConsumer):
    @action
    async def add(self, a: float, b: float) -> Response[Sum]:
        return Response.ok(Sum(a + b))

    @action
    async def ratio(self, a: float, b: float) -> Response[JSONValue]:
        return Response.ok({"ratio": a / b if b else float("nan")})

    @action
    def totals(self, scale: float) -> Response[Totals]:
        return Response.ok(Totals(count=1, names=[str(scale * 1e308)]))

    @action
    async def spelled(self) -> Response[list[str]]:
        return Response.ok(["NaN", "-Infinity"])

    @action
    async def echo_any(self, value: Annotated[float, AllowInfNan(True)]) -> Response[str]:
        return Response.ok(str(value))


@pytest.mark.parametrize(
    ("frame", "data"),
    [
        ({"action": "add", "a": 1.5, "b": 2}, {"sum": 3.5}),
        ({"action": "ratio", "a": 1, "b": 4}, {"ratio": 0.25}),
        ({"action": "totals", "scale": 10}, {"count": 1, "names": ["inf"]}),
        ({"action": "spelled"}, ["NaN", "-Infinity"]),
    ],
    ids=["dataclass", "json-value", "a-string-saying-inf", "strings-of-the-constants"],
)
async def test_finite_floats_are_sent(frame: JSONObject, data: JSONValue) -> None:
    """Finite results are sent as they are, strings that spell "inf" or "NaN" too."""
    async with ApiClient(FloatConsumer) as client:
        await client.send(frame)
        assert (await client.receive())["data"] == data


@pytest.mark.parametrize(
    "frame",
    [{"action": "add", "a": 1e308, "b": 1e308}, {"action": "ratio", "a": 1, "b": 0}],
    ids=["inf", "nan"],
)
async def test_non_finite_results_are_a_logged_500(
    frame: JSONObject, caplog: pytest.LogCaptureFixture
) -> None:
    """A result holding inf or NaN is a 500 (logged with a hint), never a silent null."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        async with ApiClient(FloatConsumer) as client:
            await client.send({**frame, "request_id": 1})
            reply = await client.receive()
    assert reply["response_status"] == 500
    assert reply["errors"] == ["A server error occurred."]
    [record] = caplog.records
    assert "produced inf or NaN" in record.getMessage()


async def test_test_client_raises_error_reply_for_a_non_finite_result() -> None:
    """ApiClient.call raises ErrorReply (500) for such a result, not a pydantic error."""
    async with ApiClient(FloatConsumer) as client:
        with pytest.raises(ErrorReply) as caught:
            await client.call(FloatConsumer.add, a=1e308, b=1e308)
    assert caught.value.status == 500


@pytest.mark.parametrize("spelled", ["inf", "-Infinity", "nan", "NaN"])
async def test_non_finite_arguments_are_400(spelled: str) -> None:
    """JSON has no inf or NaN; a float argument spelled as one in a string is a 400."""
    async with ApiClient(FloatConsumer) as client:
        await client.send({"action": "add", "a": spelled, "b": 1})
        reply = await client.receive()
    assert reply["response_status"] == 400
    assert reply["errors"] == [{"a": ["Input should be a finite number."]}]


async def test_an_annotation_may_accept_non_finite_arguments() -> None:
    """Annotated[float, AllowInfNan(True)] takes "inf" (as pydantic reads it)."""
    async with ApiClient(FloatConsumer) as client:
        reply = await client.call(FloatConsumer.echo_any, value=cast("float", "inf"))
    assert reply.data == "inf"


class Point(BaseModel):
    x: float


class ModelFloats(AsyncAPIConsumer):
    @action
    async def point(self, a: float, b: float) -> Response[Point]:
        return Response.ok(Point(x=a + b))

    @action
    async def scale(self, p: Point, by: float = 1) -> Response[list[Point]]:
        return Response.ok([Point(x=p.x * by)])

    @action
    async def push(self, x: float) -> Response[None]:
        await self.reply("pushed", {"p": Point(x=x * 1e308 * 10)})
        return Response.no_content()


async def test_pydantic_models_never_send_inf_or_nan_either() -> None:
    """A pydantic model serializes by its own config (inf as null by default): typed_dcrf
    searches model results, pushes and arguments for inf and NaN all the same."""
    async with ApiClient(ModelFloats) as client:
        assert (await client.call(ModelFloats.point, a=1, b=2)).data == Point(x=3)
        with pytest.raises(ErrorReply) as result:
            await client.call(ModelFloats.point, a=1e308, b=1e308)
        assert result.value.status == 500
        await client.send({"action": "scale", "p": {"x": "inf"}, "request_id": 1})
        refused = await client.receive()
        assert (refused["response_status"], refused["errors"]) == (
            400,
            [{"p": ["Input should be a finite number."]}],
        )
        await client.send({"action": "push", "x": 1, "request_id": 2})
        assert (await client.receive())["response_status"] == 500


class Counter(AsyncAPIConsumer):
    @action
    async def count(self) -> Response[int]:
        return Response.ok(1)


class Spelled(AsyncAPIConsumer):
    @action
    async def count(self) -> Response[str]:
        return Response.ok("one")


async def test_test_client_reports_data_not_of_the_declared_type() -> None:
    """A success reply whose data does not parse into T is an UnexpectedReply naming it."""
    async with ApiClient(Spelled) as client:
        await client.send({"action": "count", "request_id": "r"})
        with pytest.raises(UnexpectedReply, match="replied 'one'"):
            _ = [page async for page in Stream(client, Counter.count, "r")]
