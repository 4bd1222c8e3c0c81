"""The README's model consumers: CRUD, lookups, object permissions, filtering, pagination and
typed output."""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from rest_framework.filters import OrderingFilter
from typing_extensions import TypedDict

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import (
    ActionContext,
    AsyncAPIConsumer,
    BasePermission,
    IsAuthenticated,
    LimitOffsetPagination,
    LookupValue,
    ModelConsumer,
    PaginatedListModelMixin,
    ReadOnlyModelConsumer,
    Response,
    StreamedListModelMixin,
    action,
)


class IsOwnerOrReadOnly(BasePermission):
    message = "Only the owner may change an item."

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        return context.action == "retrieve" or obj.owner_id == context.user.pk


class ItemConsumer(ModelConsumer[Item, ItemSerializer]):
    """CRUD on items: every user reads them all, and changes only their own."""

    permission_classes = (IsAuthenticated, IsOwnerOrReadOnly)
    filter_backends = (OrderingFilter,)
    ordering_fields = ("name",)

    def filter_list(self, queryset: QuerySet[Item], *, done: bool | None = None) -> QuerySet[Item]:
        return queryset if done is None else queryset.filter(done=done)

    def perform_create(self, serializer: ItemSerializer) -> None:
        serializer.save(owner=self.user)

    @action()
    def mark_done(self, /, **lookup: LookupValue) -> Response[None]:
        item = self.get_object()  # by this action's lookup argument: `pk`, validated as an int
        item.done = True
        item.save(update_fields=["done"])
        return Response.no_content()

    @action()
    async def owner_of(self, pk: int) -> Response[int | None]:
        item = await self.aget_object(pk=pk)  # an Item, its object permissions checked
        return Response.ok(item.owner_id)


class ItemBySlugConsumer(ReadOnlyModelConsumer[Item, ItemSerializer]):
    """list, and retrieve by slug: `{"action": "retrieve", "slug": "milk"}`."""

    lookup_field = "slug"


class SmallPages(LimitOffsetPagination):
    default_limit = 20
    max_limit = 100


class ItemPagesConsumer(
    PaginatedListModelMixin[Item, ItemSerializer], StreamedListModelMixin[Item, ItemSerializer]
):
    """list one page at a time, or stream every page."""

    pagination_class = SmallPages


class ItemRow(TypedDict):
    """A list's rows as a type: the columns, read without model instances or a serializer."""

    id: int
    name: str
    done: bool


class ItemRowsConsumer(ReadOnlyModelConsumer[Item, ItemSerializer]):
    """list and retrieve, and `rows`: the fastest typed list."""

    @action(method="GET")
    def rows(self, done: bool | None = None) -> Response[list[ItemRow]]:
        queryset = self.get_queryset() if done is None else self.get_queryset().filter(done=done)
        values = queryset.values("id", "name", "done")  # dicts of the columns, in one query
        return Response.ok(cast("list[ItemRow]", list(values)))
