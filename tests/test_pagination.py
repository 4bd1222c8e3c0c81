"""Pagination: DCRF's limit/offset page shape, lenient arguments, page numbers, filters."""

from __future__ import annotations

import pytest
from django.db.models import QuerySet

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import (
    LimitOffsetPagination,
    NumberedPage,
    Page,
    PageNumberPagination,
    PaginatedModelConsumer,
    db,
)
from typed_dcrf.testing import ApiClient, ErrorReply
from typed_dcrf.types import ErrorList, JSONObject, JSONValue

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ["a", "b", "c", "d", "e"]
"""The items every test starts with, created in this order."""

INVALID = [
    pytest.param("abc", id="text"),
    pytest.param("", id="empty string"),
    pytest.param("-1", id="negative string"),
    pytest.param("1.5", id="decimal string"),
    pytest.param(-1, id="negative"),
    pytest.param(0, id="zero"),
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param(2.5, id="float"),
    pytest.param(2.0, id="integral float"),
    pytest.param({}, id="object"),
    pytest.param([2], id="array"),
    pytest.param(None, id="null"),
]
"""Limit values that are not a positive int (or its digits): the default applies."""


@pytest.fixture
def items() -> list[Item]:
    """An item per name of ``NAMES``, in pk order."""
    return [Item.objects.create(name=name, slug=name) for name in NAMES]


class Pages(PaginatedModelConsumer[Item, ItemSerializer]):
    """The default paginator (limit/offset) and a typed filter."""

    def filter_list(self, queryset: QuerySet[Item], *, done: bool | None = None) -> QuerySet[Item]:
        return queryset if done is None else queryset.filter(done=done)


class SmallPagination(LimitOffsetPagination):
    default_limit = 2
    max_limit = 3


class SmallPages(PaginatedModelConsumer[Item, ItemSerializer]):
    pagination_class = SmallPagination


class SmallNumberedPagination(PageNumberPagination):
    default_limit = 2
    max_limit = 3


class NumberedPages(PaginatedModelConsumer[Item, ItemSerializer]):
    """Page numbers, and a typed filter."""

    pagination_class = SmallNumberedPagination

    def filter_list(self, queryset: QuerySet[Item], *, done: bool | None = None) -> QuerySet[Item]:
        return queryset if done is None else queryset.filter(done=done)


class NewestFirst(PaginatedModelConsumer[Item, ItemSerializer]):
    queryset = Item.objects.order_by("-id")


class Unordered(PaginatedModelConsumer[Item, ItemSerializer]):
    queryset = Item.objects.order_by()


async def raw_list(client: ApiClient, **arguments: JSONValue) -> JSONObject:
    """The whole reply frame of a ``list`` sent as a raw frame."""
    await client.send({"action": "list", "request_id": "page", **arguments})
    return await client.receive()


async def page_of(client: ApiClient, **arguments: JSONValue) -> JSONObject:
    """The ``data`` of a successful raw ``list`` reply."""
    reply = await raw_list(client, **arguments)
    assert reply["response_status"] == 200, reply
    data = reply["data"]
    assert isinstance(data, dict)
    return data


def names(page: JSONObject) -> list[str]:
    results = page["results"]
    assert isinstance(results, list)
    return [str(row["name"]) for row in results if isinstance(row, dict)]


async def test_page_has_dcrfs_keys_on_the_wire(items: list[Item]) -> None:
    """A page is exactly ``{"count", "results", "limit", "offset"}``, rows serialized."""
    async with ApiClient(Pages) as client:
        reply = await raw_list(client)
    assert reply == {
        "errors": [],
        "data": {
            "results": [
                {
                    "id": item.pk,
                    "name": item.name,
                    "slug": item.slug,
                    "uuid": str(item.uuid),
                    "done": False,
                    "owner": None,
                }
                for item in items
            ],
            "count": 5,
            "limit": 50,
            "offset": 0,
        },
        "action": "list",
        "response_status": 200,
        "request_id": "page",
    }


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    ("arguments", "expected", "limit", "offset"),
    [
        pytest.param({"limit": 2}, ["a", "b"], 2, 0, id="first page"),
        pytest.param({"limit": 2, "offset": 2}, ["c", "d"], 2, 2, id="second page"),
        pytest.param({"limit": 2, "offset": 4}, ["e"], 2, 4, id="last partial page"),
        pytest.param({"limit": 3, "offset": 1}, ["b", "c", "d"], 3, 1, id="unaligned"),
        pytest.param({"offset": 3}, ["d", "e"], 50, 3, id="offset only"),
        pytest.param({"limit": 5}, NAMES, 5, 0, id="exactly all"),
        pytest.param({"limit": "2", "offset": "1"}, ["b", "c"], 2, 1, id="digit strings"),
        pytest.param({"limit": " 2 "}, ["a", "b"], 2, 0, id="padded digits"),
    ],
)
async def test_limit_and_offset_select_the_window(
    arguments: JSONObject, expected: list[str], limit: int, offset: int
) -> None:
    """``limit`` rows from ``offset``; count is the whole list; limit/offset are echoed."""
    async with ApiClient(Pages) as client:
        page = await page_of(client, **arguments)
    assert names(page) == expected
    assert (page["count"], page["limit"], page["offset"]) == (5, limit, offset)


@pytest.mark.usefixtures("items")
async def test_missing_limit_is_the_default_limit() -> None:
    """Without ``limit`` the paginator's default_limit applies."""
    async with ApiClient(Pages) as client:
        default = await page_of(client)
    async with ApiClient(SmallPages) as client:
        small = await page_of(client)
    assert (default["limit"], names(default)) == (50, NAMES)
    assert (small["limit"], names(small)) == (2, ["a", "b"])


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize("limit", INVALID)
async def test_invalid_limit_falls_back_to_the_default_and_the_connection_stays_usable(
    limit: JSONValue,
) -> None:
    """A limit that is not a positive int is the default limit, never an error."""
    async with ApiClient(SmallPages) as client:
        page = await page_of(client, limit=limit, offset=1)
        following = await client.call(SmallPages.list, limit=3)
    assert (page["limit"], page["offset"], names(page)) == (2, 1, ["b", "c"])
    assert [row["name"] for row in following.data.results] == ["a", "b", "c"]


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize("offset", INVALID)
async def test_invalid_offset_is_zero(offset: JSONValue) -> None:
    """An offset that is not a non-negative int is 0, never an error (0 itself is valid)."""
    async with ApiClient(Pages) as client:
        page = await page_of(client, limit=2, offset=offset)
    assert (page["offset"], names(page)) == (0, ["a", "b"])


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    "limit", [pytest.param("²", id="superscript two"), pytest.param("9" * 5000, id="5000 digits")]
)
async def test_limit_that_looks_numeric_but_is_not_an_int_falls_back_to_the_default(
    limit: str,
) -> None:
    """Strings that str.isdigit() accepts but int() refuses (a superscript digit, more digits
    than int() converts) are invalid limits: the default, never an error."""
    async with ApiClient(SmallPages) as client:
        page = await page_of(client, limit=limit)
    assert (page["limit"], names(page)) == (2, ["a", "b"])


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(("limit", "capped"), [(3, 3), (4, 3), (10**30, 3), ("1000", 3)])
async def test_limit_over_max_limit_is_capped(limit: JSONValue, capped: int) -> None:
    """A limit above the paginator's max_limit is max_limit."""
    async with ApiClient(SmallPages) as client:
        page = await page_of(client, limit=limit, offset=1)
    assert (page["limit"], names(page)) == (capped, NAMES[1 : 1 + capped])


@pytest.mark.usefixtures("items")
async def test_default_max_limit_is_1000() -> None:
    """The default paginator caps limit at 1000."""
    async with ApiClient(Pages) as client:
        page = await page_of(client, limit=1001)
    assert page["limit"] == 1000
    assert LimitOffsetPagination.max_limit == 1000


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize("offset", [5, 6, 10**30])
async def test_offset_past_the_end_is_an_empty_page_with_the_count(offset: int) -> None:
    """An offset at or past the end gives no results, the list's count, and no error."""
    async with ApiClient(Pages) as client:
        page = await page_of(client, limit=2, offset=offset)
    assert page == {"results": [], "count": 5, "limit": 2, "offset": offset}


async def test_empty_list_is_an_empty_page() -> None:
    """An empty list is a page with no results and count 0."""
    async with ApiClient(Pages) as client:
        page = await page_of(client)
    assert page == {"results": [], "count": 0, "limit": 50, "offset": 0}


async def test_filters_and_pagination_combine(items: list[Item]) -> None:
    """Filter arguments narrow the list first: count is the filtered count."""
    for item in items[1::2]:  # b and d
        item.done = True
        await db.run(item.save)
    async with ApiClient(Pages) as client:
        done = await page_of(client, done=True, limit=1, offset=1)
        not_done = await page_of(client, done=False, limit=2)
        status, errors = await list_error(client, done="maybe", limit=1)
    assert (names(done), done["count"]) == (["d"], 2)
    assert (names(not_done), not_done["count"]) == (["a", "c"], 3)
    assert (status, errors) == (400, [{"done": ["Must be a valid boolean."]}])


async def list_error(client: ApiClient, **arguments: JSONValue) -> tuple[int, ErrorList]:
    """The status and errors of a paginated ``list`` that must fail."""
    with pytest.raises(ErrorReply) as error:
        await client.call(Pages.list, **arguments)
    return error.value.status, error.value.errors


@pytest.mark.usefixtures("items")
async def test_unknown_argument_is_a_400() -> None:
    """A key that is neither a pagination nor a filter argument is refused."""
    async with ApiClient(SmallPages) as client:
        reply = await raw_list(client, limit=1, page=2)
    assert reply["response_status"] == 400
    assert reply["errors"] == [{"page": ["Unexpected field."]}]


@pytest.mark.usefixtures("items")
async def test_typed_client_returns_a_page() -> None:
    """ApiClient parses a paginated list into a typed_dcrf.Page."""
    async with ApiClient(Pages) as client:
        reply = await client.call(Pages.list, limit=2, offset=1)
    page = reply.data
    assert type(page) is Page
    assert (page.count, page.limit, page.offset) == (5, 2, 1)
    assert [row["name"] for row in page.results] == ["b", "c"]


@pytest.mark.usefixtures("items")
async def test_explicit_ordering_is_kept() -> None:
    """Pages follow the queryset's own ordering."""
    async with ApiClient(NewestFirst) as client:
        first = await client.call(NewestFirst.list, limit=2)
        second = await client.call(NewestFirst.list, limit=2, offset=2)
    assert [row["name"] for row in first.data.results] == ["e", "d"]
    assert [row["name"] for row in second.data.results] == ["c", "b"]


async def test_unordered_queryset_is_paged_by_pk(items: list[Item]) -> None:
    """An unordered queryset is ordered by pk, so that pages neither overlap nor skip rows."""
    # An update moves a row to the end of a PostgreSQL table: without an ORDER BY it would
    # come last.
    for item in items[:3]:
        item.name = item.name.upper()
        await db.run(item.save)
    async with ApiClient(Unordered) as client:
        pages = [await client.call(Unordered.list, limit=2, offset=offset) for offset in (0, 2, 4)]
    rows = [row["name"] for page in pages for row in page.data.results]
    assert rows == ["A", "B", "C", "d", "e"]


@pytest.mark.usefixtures("items")
async def test_page_numbers_have_page_and_pages_on_the_wire() -> None:
    """PageNumberPagination replies ``{results, count, limit, offset, page, pages}``."""
    async with ApiClient(NumberedPages) as client:
        page = await page_of(client, page=2)
    assert set(page) == {"results", "count", "limit", "offset", "page", "pages"}
    assert page == {
        "results": page["results"],
        "count": 5,
        "limit": 2,
        "offset": 2,
        "page": 2,
        "pages": 3,
    }
    assert names(page) == ["c", "d"]


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    ("arguments", "expected", "page", "size"),
    [
        pytest.param({}, ["a", "b"], 1, 2, id="default"),
        pytest.param({"page": 3}, ["e"], 3, 2, id="last"),
        pytest.param({"page": 2, "page_size": 3}, ["d", "e"], 2, 3, id="page size"),
        pytest.param({"page": 1, "page_size": 50}, ["a", "b", "c"], 1, 3, id="size capped"),
        pytest.param({"page": 0}, ["a", "b"], 1, 2, id="zero"),
        pytest.param({"page": "abc", "page_size": "x"}, ["a", "b"], 1, 2, id="invalid"),
        pytest.param({"page": "2"}, ["c", "d"], 2, 2, id="digits"),
    ],
)
async def test_page_numbers_select_the_page(
    arguments: JSONObject, expected: list[str], page: int, size: int
) -> None:
    """``page`` counts from 1, ``page_size`` is lenient and capped like ``limit``."""
    async with ApiClient(NumberedPages) as client:
        reply = await page_of(client, **arguments)
    assert names(reply) == expected
    assert (reply["page"], reply["limit"], reply["offset"]) == (page, size, (page - 1) * size)
    assert reply["pages"] == -(-5 // size)


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize("page", [4, 10**30])
async def test_page_past_the_last_is_a_404(page: int) -> None:
    """A page number past the last page is 404 "Invalid page."; the connection stays usable."""
    async with ApiClient(NumberedPages) as client:
        reply = await raw_list(client, page=page)
        last = await client.call(NumberedPages.list, page=3)
    assert reply == {
        "errors": ["Invalid page."],
        "data": None,
        "action": "list",
        "response_status": 404,
        "request_id": "page",
    }
    assert [row["name"] for row in last.data.results] == ["e"]


async def test_empty_list_has_one_empty_page() -> None:
    """An empty list has page 1 of 1, empty; page 2 is a 404."""
    async with ApiClient(NumberedPages) as client:
        first = await page_of(client)
        second = await raw_list(client, page=2)
    assert first == {"results": [], "count": 0, "limit": 2, "offset": 0, "page": 1, "pages": 1}
    assert second["response_status"] == 404


async def test_page_numbers_count_the_filtered_list(items: list[Item]) -> None:
    """With filters, count and pages are those of the filtered list."""
    for item in items[:3]:
        item.done = True
        await db.run(item.save)
    async with ApiClient(NumberedPages) as client:
        reply = await client.call(NumberedPages.list, done=True, page=2)
        past = await raw_list(client, done=False, page=2)
    assert isinstance(reply.data, NumberedPage)
    assert (reply.data.count, reply.data.pages, reply.data.page) == (3, 2, 2)
    assert [row["name"] for row in reply.data.results] == ["c"]
    assert past["errors"] == ["Invalid page."]


@pytest.mark.usefixtures("items")
async def test_typed_client_returns_a_numbered_page() -> None:
    """ApiClient parses a page-number list into a typed_dcrf.NumberedPage."""
    async with ApiClient(NumberedPages) as client:
        reply = await client.call(NumberedPages.list, page=3)
    page = reply.data
    assert isinstance(page, NumberedPage)
    assert (page.page, page.pages, page.count, page.limit, page.offset) == (3, 3, 5, 2, 4)
    assert [row["name"] for row in page.results] == ["e"]
