"""Response[T]: immutable, 2xx only, and serialized by the action's compiled serializer."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList
from typing_extensions import TypedDict

from typed_dcrf import AsyncAPIConsumer, Response, action
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONValue


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
        Response(None, status)


def test_responses_are_immutable() -> None:
    """A Response cannot be changed after creation."""
    response = Response.ok(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        response.status = 500  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
