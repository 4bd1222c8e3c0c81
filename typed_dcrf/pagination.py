"""Pagination of model lists: limit/offset (DCRF's page shape) and page numbers.

A paginator declares the arguments the list action takes (lenient, as in DRF: a missing or
invalid value falls back to the default, a large one is capped at ``max_limit``) and turns a
queryset into a ``Page``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, NotRequired, TypeVar, cast

from django.db.models import Model, QuerySet
from pydantic import BeforeValidator

from typed_dcrf._codec import Codec
from typed_dcrf.exceptions import NotFound

T = TypeVar("T")
M = TypeVar("M", bound=Model)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: DCRF's ``{count, results, limit, offset}``."""

    results: list[T]
    count: int
    """Rows in the whole (filtered) list."""
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class NumberedPage(Page[T]):
    """A page of ``PageNumberPagination``: also its number and the number of pages."""

    page: int
    pages: int


def _lenient(value: object) -> int | None:
    """A non-negative int from ``value`` (an int or a numeric string), or ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        try:
            value = int(value)
        except ValueError:  # digits int() does not take ("²"), or too many of them
            return None
    return value if isinstance(value, int) and value >= 0 else None


LenientInt = Annotated[int | None, BeforeValidator(_lenient)]
"""An argument that never fails validation: anything but a non-negative int becomes None."""


class Pagination:
    """Base paginator: windows a queryset by ``offset`` and ``limit``."""

    default_limit: ClassVar[int] = 50
    max_limit: ClassVar[int] = 1000
    page_type: ClassVar[type[Page[Any]]] = Page
    _codec: ClassVar[Codec | None] = None

    @classmethod
    def arguments(cls) -> dict[str, object]:
        """The list action's pagination arguments, as TypedDict fields."""
        raise NotImplementedError

    @classmethod
    def data_type(cls) -> Any:  # a runtime type form: `page_type[dict[str, Any]]`
        """The type of the pages this paginator replies with."""
        return cast("Any", cls.page_type)[dict[str, Any]]

    @classmethod
    def dump_page(cls, page: Page[Any]) -> str:
        """``page`` as JSON (for pages sent outside an action's reply)."""
        codec = cls.__dict__.get("_codec")
        if codec is None:
            codec = cls._codec = Codec(cls.data_type())
        return codec.dump_json(page)

    def window(self, arguments: Mapping[str, object]) -> tuple[int, int]:
        """``(offset, limit)`` from the validated arguments."""
        raise NotImplementedError

    def following(self, page: Page[Any]) -> dict[str, object]:
        """The arguments of the page after ``page`` (for streamed lists)."""
        raise NotImplementedError

    def limit(self, requested: object) -> int:
        """``requested`` capped at ``max_limit``; the default when missing or zero."""
        if not isinstance(requested, int) or requested == 0:
            return self.default_limit
        return min(requested, self.max_limit)

    def paginate(self, queryset: QuerySet[M], arguments: Mapping[str, object]) -> Window[M]:
        """Count the list and fetch the page the arguments ask for (two queries)."""
        offset, limit = self.window(arguments)
        if not queryset.ordered:  # pages of an unordered list would overlap
            queryset = queryset.order_by("pk")
        count = queryset.count()
        rows = list(queryset[offset : offset + limit]) if offset < count else []
        return Window(rows, count, offset, limit)

    def page(self, results: list[T], window: Window[Any]) -> Page[T]:
        """The reply for ``window``, its rows serialized as ``results``."""
        return Page(results, window.count, window.limit, window.offset)


@dataclass(frozen=True, slots=True)
class Window(Generic[M]):
    """The rows of one page and where they sit in the list."""

    rows: Sequence[M]
    count: int
    offset: int
    limit: int


class LimitOffsetPagination(Pagination):
    """``limit`` and ``offset`` arguments, as DCRF's ``WebsocketLimitOffsetPagination``."""

    @classmethod
    def arguments(cls) -> dict[str, object]:
        return {"limit": NotRequired[LenientInt], "offset": NotRequired[LenientInt]}

    def window(self, arguments: Mapping[str, object]) -> tuple[int, int]:
        offset = arguments.get("offset")
        return offset if isinstance(offset, int) else 0, self.limit(arguments.get("limit"))

    def following(self, page: Page[Any]) -> dict[str, object]:
        return {"offset": page.offset + page.limit, "limit": page.limit}


class PageNumberPagination(Pagination):
    """``page`` (from 1) and ``page_size`` arguments; a page past the last one is a 404."""

    page_type: ClassVar[type[Page[Any]]] = NumberedPage

    @classmethod
    def arguments(cls) -> dict[str, object]:
        return {"page": NotRequired[LenientInt], "page_size": NotRequired[LenientInt]}

    def window(self, arguments: Mapping[str, object]) -> tuple[int, int]:
        size = self.limit(arguments.get("page_size"))
        number = arguments.get("page")
        number = number if isinstance(number, int) and number > 0 else 1
        return (number - 1) * size, size

    def page(self, results: list[T], window: Window[Any]) -> Page[T]:
        number = window.offset // window.limit + 1
        pages = max(1, -(-window.count // window.limit))
        if number > pages:
            raise NotFound("Invalid page.")
        return NumberedPage(results, window.count, window.limit, window.offset, number, pages)

    def following(self, page: Page[Any]) -> dict[str, object]:
        return {"page": page.offset // page.limit + 2, "page_size": page.limit}
