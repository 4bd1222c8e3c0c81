"""`ApiClient.call(Consumer.action, ...)` returns `Response[T]`, `T` the action's data type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_type

from django.contrib.auth.models import AnonymousUser
from pydantic import BaseModel
from typing_extensions import TypedDict

from typed_dcrf import AsyncAPIConsumer, Response, SuccessStatus, action
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject


@dataclass
class Point:
    x: int
    y: int


class Totals(TypedDict):
    count: int
    label: str


class Profile(BaseModel):
    name: str
    age: int | None = None


class Catalog(AsyncAPIConsumer):
    @action
    async def point(self, pk: int) -> Response[Point]:
        return Response.ok(Point(pk, pk))

    @action(name="totals.get")
    async def totals(self, pk: int, *, label: str = "all") -> Response[Totals]:
        return Response.ok({"count": pk, "label": label})

    @action(detached=True)
    async def profile(self, name: str, age: int | None = None) -> Response[Profile]:
        return Response.created(Profile(name=name, age=age))

    @action
    def ids(self, pk: int, limit: int = 3) -> Response[list[int]]:
        return Response.ok(list(range(pk, pk + limit)))

    @action(atomic=True)
    def delete(self, *, pk: int) -> Response[None]:
        return Response.no_content()


async def calls() -> None:
    async with ApiClient(Catalog) as client:
        assert_type(client, ApiClient)
        assert_type(await client.call(Catalog.point, pk=1), Response[Point])
        assert_type(await client.call(Catalog.point, 1), Response[Point])
        assert_type(await client.call(Catalog.totals, pk=1), Response[Totals])
        assert_type(await client.call(Catalog.totals, 1, label="new"), Response[Totals])
        assert_type(await client.call(Catalog.profile, name="ada"), Response[Profile])
        assert_type(await client.call(Catalog.profile, "ada", age=36), Response[Profile])
        assert_type(await client.call(Catalog.ids, 1), Response[list[int]])
        assert_type(await client.call(Catalog.ids, 1, limit=5), Response[list[int]])
        assert_type(await client.call(Catalog.delete, pk=1), Response[None])

        reply = await client.call(Catalog.point, pk=1)
        assert_type(reply.data, Point)
        assert_type(reply.data.x, int)
        assert_type(reply.status, SuccessStatus)
        assert_type((await client.call(Catalog.totals, pk=1)).data["label"], str)
        assert_type((await client.call(Catalog.profile, name="ada")).data.age, int | None)

        assert_type(await client.receive(), JSONObject)
        assert_type(await client.receive_nothing(), bool)


async def options() -> None:
    client = ApiClient(Catalog, user=AnonymousUser(), scope={"url_route": {}}, timeout=2.0)
    async with client as entered:
        assert_type(entered, ApiClient)
        assert_type(await entered.call(Catalog.point, pk=1), Response[Point])
