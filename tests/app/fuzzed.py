"""Consumers the protocol fuzzer drives (tests/test_fuzz.py): typed custom actions over every
kind of argument type typed_dcrf supports, CRUD on a model by each kind of lookup, and a
demultiplexer over both."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Annotated, Literal, NotRequired

import pydantic
from annotated_types import Ge, MaxLen
from django.db.models import QuerySet
from rest_framework.filters import OrderingFilter, SearchFilter
from typing_extensions import TypedDict

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import AsyncAPIConsumer, ModelConsumer, ReadOnlyModelConsumer, Response, action
from typed_dcrf.multiplex import Demultiplexer
from typed_dcrf.types import JSONValue


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


@dataclass
class FuzzStreet:
    name: str
    number: int


@dataclass
class FuzzAddress:
    street: FuzzStreet
    zip: Annotated[str, MaxLen(10)]
    lines: list[str] = field(default_factory=list[str])
    floor: int | None = None


class FuzzContact(TypedDict):
    email: str
    phone: NotRequired[str]
    tags: list[Literal["home", "work"]]


class FuzzPerson(pydantic.BaseModel):
    name: str
    age: Annotated[int, Ge(0)]
    address: FuzzAddress | None = None
    contacts: list[FuzzContact] = []


class Pings:
    """``ping``, which the fuzzer sends after other frames: the connection still answers."""

    @action()
    async def ping(self) -> Response[str]:
        return Response.ok("pong")


class FuzzActions(Pings, AsyncAPIConsumer):
    """One action per kind of argument type, each answering what it was given."""

    @action()
    async def echo(self, text: str) -> Response[str]:
        return Response.ok(text)

    @action()
    async def ship(self, address: FuzzAddress, express: bool = False) -> Response[FuzzAddress]:
        return Response.ok(address)

    @action()
    async def contact(self, contact: FuzzContact) -> Response[FuzzContact]:
        return Response.ok(contact)

    @action()
    async def register(self, person: FuzzPerson, colour: Colour = Colour.RED) -> Response[str]:
        return Response.created(f"{person.name} {colour.value}")

    @action()
    async def choose(
        self,
        mode: Literal["fast", "slow", 3],
        colour: Colour,
        size: Size,
        ranks: list[int],
        note: str | None = None,
        limit: int = 10,
    ) -> Response[list[int]]:
        return Response.ok(ranks[:limit])

    @action()
    def tally(
        self,
        counts: dict[str, int],
        pair: tuple[int, str],
        weights: list[float] | None = None,
    ) -> Response[int]:
        return Response.ok(sum(counts.values()) + pair[0])

    @action()
    async def anything(self, value: JSONValue, *, label: str = "") -> Response[JSONValue]:
        return Response.ok(value)


class FuzzItems(Pings, ModelConsumer[Item, ItemSerializer]):
    """Every CRUD action, looked up by the integer primary key; lists searched, ordered and
    filtered by typed arguments."""

    filter_backends = (SearchFilter, OrderingFilter)
    search_fields = ("name", "slug")
    ordering_fields = ("name", "id")

    def filter_list(
        self, queryset: QuerySet[Item], *, done: bool | None = None, name_has: str | None = None
    ) -> QuerySet[Item]:
        if done is not None:
            queryset = queryset.filter(done=done)
        if name_has is not None:
            queryset = queryset.filter(name__contains=name_has)
        return queryset


class FuzzItemsBySlug(Pings, ReadOnlyModelConsumer[Item, ItemSerializer]):
    """Lookups by a string field: a slug."""

    lookup_field = "slug"


class FuzzItemsByName(Pings, ModelConsumer[Item, ItemSerializer]):
    """Lookups by a plain CharField, under a key of its own."""

    lookup_field = "name"
    lookup_url_kwarg = "item_name"


class FuzzItemsByUuid(Pings, ReadOnlyModelConsumer[Item, ItemSerializer]):
    """Lookups by a UUID field."""

    lookup_field = "uuid"


class FuzzStreams(Demultiplexer):
    """The typed actions and the model's CRUD on one socket."""

    streams = {"actions": FuzzActions, "items": FuzzItems}
