"""Filtering: the typed filter_list hook and DRF filter backends, on list and on get_object."""

from __future__ import annotations

import types
from typing import Any, TypeVar

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from rest_framework.filters import BaseFilterBackend, OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.views import APIView

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import ModelConsumer, PaginatedModelConsumer, db
from typed_dcrf.testing import ApiClient, ErrorReply
from typed_dcrf.types import ErrorList, JSONObject, JSONValue

pytestmark = pytest.mark.django_db(transaction=True)

M = TypeVar("M", bound=Model)
R = TypeVar("R")

ITEMS = [
    # (name, slug, done)
    ("alpha", "a", False),
    ("beta", "b", True),
    ("gamma", "g", False),
    ("alphabet", "ab", True),
    ("delta", "d", False),
]
"""The rows every test starts with, created in this order."""


@pytest.fixture
def items() -> list[Item]:
    """``ITEMS`` in the database, in creation (and so pk) order."""
    return [Item.objects.create(name=name, slug=slug, done=done) for name, slug, done in ITEMS]


class SlugBackend(BaseFilterBackend):
    """A custom DRF backend reading a repeatable query parameter, as django-filter's
    ``in`` filters do."""

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [{"name": "slug", "required": False, "in": "query", "schema": {"type": "string"}}]

    def filter_queryset(
        self, request: Request, queryset: QuerySet[M, R], view: APIView
    ) -> QuerySet[M, R]:
        slugs = request.query_params.getlist("slug")
        return queryset.filter(slug__in=slugs) if slugs else queryset


class FilteredItems(ModelConsumer[Item, ItemSerializer]):
    """DRF's ordering and search backends, a custom backend, and the typed hook."""

    filter_backends = (OrderingFilter, SearchFilter, SlugBackend)
    ordering_fields = ("name", "slug")
    search_fields = ("name",)

    def filter_list(
        self, queryset: QuerySet[Item], *, done: bool | None = None, name: str | None = None
    ) -> QuerySet[Item]:
        if done is not None:
            queryset = queryset.filter(done=done)
        if name is not None:
            queryset = queryset.filter(name=name)
        return queryset


class OpenItems(ModelConsumer[Item, ItemSerializer]):
    """A typed hook whose default hides finished items."""

    def filter_list(self, queryset: QuerySet[Item], *, done: bool = False) -> QuerySet[Item]:
        return queryset.filter(done=done)


class DefaultOrdering(ModelConsumer[Item, ItemSerializer]):
    """OrderingFilter without ordering_fields (the serializer's fields) and a default."""

    filter_backends = (OrderingFilter,)
    ordering = ("-name",)


async def names(client: ApiClient, **arguments: JSONValue) -> list[str]:
    """The names ``list`` replies with for ``arguments``."""
    reply = await client.call(FilteredItems.list, **arguments)
    return [row["name"] for row in reply.data]


async def list_error(client: ApiClient, **arguments: JSONValue) -> tuple[int, ErrorList]:
    """The status and errors of a ``list`` that must fail."""
    with pytest.raises(ErrorReply) as error:
        await client.call(FilteredItems.list, **arguments)
    return error.value.status, error.value.errors


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param({}, ["alpha", "beta", "gamma", "alphabet", "delta"], id="no filter"),
        pytest.param({"done": True}, ["beta", "alphabet"], id="done"),
        pytest.param({"done": False}, ["alpha", "gamma", "delta"], id="not done"),
        pytest.param({"done": "true"}, ["beta", "alphabet"], id="done as a string"),
        pytest.param({"done": None}, ["alpha", "beta", "gamma", "alphabet", "delta"], id="null"),
        pytest.param({"name": "gamma"}, ["gamma"], id="name"),
        pytest.param({"name": "gamma", "done": True}, [], id="name and done"),
        pytest.param({"name": "beta", "done": True}, ["beta"], id="name and done match"),
    ],
)
async def test_typed_hook_filters_the_list(arguments: JSONObject, expected: list[str]) -> None:
    """filter_list's keyword arguments are optional list arguments, validated and applied."""
    async with ApiClient(FilteredItems) as client:
        assert await names(client, **arguments) == expected


@pytest.mark.usefixtures("items")
async def test_typed_hook_arguments_are_validated() -> None:
    """An invalid filter value is a 400 naming the argument; the connection stays usable."""
    async with ApiClient(FilteredItems) as client:
        await client.send({"action": "list", "request_id": 1, "done": "maybe"})
        reply = await client.receive()
        assert await list_error(client, name=5) == (400, [{"name": ["Not a valid string."]}])
        assert await names(client, done=True) == ["beta", "alphabet"]
    assert reply == {
        "errors": [{"done": ["Must be a valid boolean."]}],
        "data": None,
        "action": "list",
        "response_status": 400,
        "request_id": 1,
    }


@pytest.mark.usefixtures("items")
async def test_unknown_filter_argument_is_a_400() -> None:
    """A key that is neither a filter_list argument nor a backend's parameter is refused."""
    async with ApiClient(FilteredItems) as client:
        unknown = await list_error(client, colour="red")
        both = await list_error(client, colour="red", done="maybe")
    assert unknown == (400, [{"colour": ["Unexpected field."]}])
    assert both == (400, [{"done": ["Must be a valid boolean."], "colour": ["Unexpected field."]}])


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        pytest.param("-name", ["gamma", "delta", "beta", "alphabet", "alpha"], id="-name"),
        pytest.param("slug", ["alpha", "alphabet", "beta", "delta", "gamma"], id="slug"),
        pytest.param("done,-name", ["gamma", "delta", "beta", "alphabet", "alpha"], id="invalid"),
        pytest.param("done", ["alpha", "beta", "gamma", "alphabet", "delta"], id="only invalid"),
        pytest.param("", ["alpha", "beta", "gamma", "alphabet", "delta"], id="empty"),
    ],
)
async def test_drf_ordering_filter_orders_by_the_ordering_argument(
    ordering: str, expected: list[str]
) -> None:
    """OrderingFilter reads ``ordering`` as DRF views do; fields outside ordering_fields are
    dropped, and with none left the queryset keeps its own order."""
    async with ApiClient(FilteredItems) as client:
        assert await names(client, ordering=ordering) == expected


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    ("search", "expected"),
    [
        pytest.param("alp", ["alpha", "alphabet"], id="prefix"),
        pytest.param("ALPHAB", ["alphabet"], id="case-insensitive"),
        pytest.param("ta", ["beta", "delta"], id="middle"),
        pytest.param("zeta", [], id="no match"),
        pytest.param("", ["alpha", "beta", "gamma", "alphabet", "delta"], id="empty"),
    ],
)
async def test_drf_search_filter_searches_by_the_search_argument(
    search: str, expected: list[str]
) -> None:
    """SearchFilter reads ``search`` as DRF views do (icontains over search_fields)."""
    async with ApiClient(FilteredItems) as client:
        assert await names(client, search=search) == expected


@pytest.mark.usefixtures("items")
async def test_drf_backends_and_typed_hook_combine() -> None:
    """Backends' arguments and filter_list's arguments apply together in one list call."""
    async with ApiClient(FilteredItems) as client:
        assert await names(client, search="alp", done=True) == ["alphabet"]
        assert await names(client, ordering="-name", done=False) == ["gamma", "delta", "alpha"]
        searched = await names(client, search="a", ordering="-slug", done=False, slug=["a", "d"])
    assert searched == ["delta", "alpha"]


@pytest.mark.usefixtures("items")
async def test_backend_query_parameters_may_repeat() -> None:
    """A backend parameter is ``str | list[str]``: a list reaches request.query_params as a
    repeated parameter (getlist), a string as one value."""
    async with ApiClient(FilteredItems) as client:
        assert await names(client, slug=["g", "a"]) == ["alpha", "gamma"]
        assert await names(client, slug="b") == ["beta"]
        # SearchFilter reads one value with .get(): the last one, as with ?search=x&search=y.
        assert await names(client, search=["zeta", "alp"]) == ["alpha", "alphabet"]


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize("value", [5, True, {"a": "b"}, [1], None])
async def test_backend_query_parameters_must_be_strings(value: JSONValue) -> None:
    """A backend parameter that is neither a string nor a list of strings is a 400."""
    async with ApiClient(FilteredItems) as client:
        status, errors = await list_error(client, search=value)
    assert (status, errors) == (400, [{"search": ["Not a valid string."]}])


@pytest.mark.usefixtures("items")
async def test_ordering_filter_without_ordering_fields_uses_the_serializer_and_view_ordering() -> (
    None
):
    """Without ordering_fields, OrderingFilter allows the serializer's fields and falls back
    to the consumer's ``ordering``, as on a DRF view."""
    async with ApiClient(DefaultOrdering) as client:
        default = await client.call(DefaultOrdering.list)
        by_slug = await client.call(DefaultOrdering.list, ordering="slug")
    assert [row["name"] for row in default.data] == ["gamma", "delta", "beta", "alphabet", "alpha"]
    assert [row["name"] for row in by_slug.data] == ["alpha", "alphabet", "beta", "delta", "gamma"]


async def test_get_object_goes_through_filter_queryset(items: list[Item]) -> None:
    """As DRF's get_object: retrieve, patch and delete only reach objects the list's default
    filters keep; the others are 404 and stay unchanged."""
    alpha, beta = items[0], items[1]  # beta is done: hidden by OpenItems' default
    async with ApiClient(OpenItems) as client:
        listed = await client.call(OpenItems.list)
        listed_done = await client.call(OpenItems.list, done=True)
        retrieved = await client.call(OpenItems.retrieve, pk=alpha.pk)
        hidden: list[tuple[str, JSONObject]] = [
            ("retrieve", {"pk": beta.pk}),
            ("patch", {"pk": beta.pk, "data": {"name": "changed"}}),
            ("delete", {"pk": beta.pk}),
        ]
        for action_name, arguments in hidden:
            await client.send({"action": action_name, "request_id": action_name, **arguments})
            reply = await client.receive()
            assert (reply["response_status"], reply["errors"]) == (404, ["Not found"])
    assert [row["name"] for row in listed.data] == ["alpha", "gamma", "delta"]
    assert [row["name"] for row in listed_done.data] == ["beta", "alphabet"]
    assert retrieved.data["name"] == "alpha"
    assert (await db.run(Item.objects.get, pk=beta.pk)).name == "beta"


async def test_get_object_applies_backends_without_query_arguments(items: list[Item]) -> None:
    """Filter backends run for get_object with no query: every item can be retrieved."""
    async with ApiClient(FilteredItems) as client:
        for item in items:
            reply = await client.call(FilteredItems.retrieve, pk=item.pk)
            assert reply.data["name"] == item.name


async def test_filter_arguments_belong_to_list_only(items: list[Item]) -> None:
    """retrieve takes its lookup only: filter and backend arguments are unexpected there."""
    async with ApiClient(FilteredItems) as client:
        await client.send({"action": "retrieve", "pk": items[0].pk, "search": "x", "done": True})
        reply = await client.receive()
    assert reply["response_status"] == 400
    assert reply["errors"] == [{"search": ["Unexpected field."], "done": ["Unexpected field."]}]


def define(name: str, base: object, **attributes: object) -> type:
    """A class created at run time, so that a definition error is the test's to catch."""
    return types.new_class(name, (base,), exec_body=lambda namespace: namespace.update(attributes))


def test_a_filter_argument_without_a_default_is_refused_at_definition() -> None:
    """filter_list also runs for get_object(), without list arguments: each needs a default."""

    def filter_list(self: object, queryset: QuerySet[Item], *, done: bool) -> QuerySet[Item]:
        return queryset.filter(done=done)

    with pytest.raises(ImproperlyConfigured, match=r"NoDefault\.filter_list: give 'done' a"):
        define("NoDefault", ModelConsumer[Item, ItemSerializer], filter_list=filter_list)


def test_filter_list_with_variable_arguments_is_refused_at_definition() -> None:
    """filter_list declares each filter by name: **kwargs would leave them unvalidated."""

    def filter_list(self: object, queryset: QuerySet[Item], **filters: object) -> object:
        return queryset

    with pytest.raises(ImproperlyConfigured, match=r"Loose\.filter_list: declare each filter"):
        define("Loose", ModelConsumer[Item, ItemSerializer], filter_list=filter_list)


def test_an_argument_taken_twice_is_refused_at_definition() -> None:
    """A filter_list argument named like a backend's query parameter is a definition error."""

    def filter_list(self: object, queryset: QuerySet[Item], *, ordering: str = "") -> object:
        return queryset

    with pytest.raises(ImproperlyConfigured, match=r"Twice: filter_backends takes .*'ordering'"):
        define(
            "Twice",
            ModelConsumer[Item, ItemSerializer],
            filter_backends=(OrderingFilter,),
            filter_list=filter_list,
        )


def test_a_filter_argument_named_like_a_page_argument_is_refused_at_definition() -> None:
    """A paginated list cannot take `limit` both as a filter and as its page size."""

    def filter_list(self: object, queryset: QuerySet[Item], *, limit: int = 7) -> object:
        return queryset

    with pytest.raises(ImproperlyConfigured, match=r"pagination_class takes .*'limit'"):
        define("Paged", PaginatedModelConsumer[Item, ItemSerializer], filter_list=filter_list)


class TagBackend(BaseFilterBackend):
    """A backend that does not declare its query parameter (as django-filter's does not)."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[M, R], view: APIView
    ) -> QuerySet[M, R]:
        tag = request.query_params.get("tag")
        return queryset.filter(slug=tag) if tag else queryset


class TaggedItems(ModelConsumer[Item, ItemSerializer]):
    """Declares the query parameters its backend reads."""

    filter_backends = (TagBackend,)
    filter_parameters = ("tag",)


@pytest.mark.usefixtures("items")
async def test_filter_parameters_declare_what_the_backends_read() -> None:
    """filter_parameters names the list arguments that reach the backends as query parameters."""
    async with ApiClient(TaggedItems) as client:
        tagged = await client.call(TaggedItems.list, tag="g")
        assert [item["name"] for item in tagged.data] == ["gamma"]
        assert len((await client.call(TaggedItems.list)).data) == len(ITEMS)
