"""`GenericModelConsumer[M, S]` and the CRUD mixins: hooks typed by the model and serializer,
overrides that type-check, and the test client's replies to each generic action."""

from __future__ import annotations

from typing import Any, assert_type

from django.db.models import Manager, QuerySet
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from tests.app.models import Item, Note
from tests.app.serializers import ItemSerializer, NoteSerializer
from typed_dcrf import (
    CreateModelMixin,
    DeleteModelMixin,
    GenericModelConsumer,
    ListModelMixin,
    LookupValue,
    ManySerializer,
    ModelConsumer,
    Page,
    PaginatedListModelMixin,
    PaginatedModelConsumer,
    PatchModelMixin,
    ReadOnlyModelConsumer,
    Response,
    RetrieveModelMixin,
    StreamedListModelMixin,
    StreamEnd,
    UpdateModelMixin,
    action,
)
from typed_dcrf.testing import ApiClient, Stream
from typed_dcrf.types import JSONObject, JSONValue


class ItemConsumer(ModelConsumer[Item, ItemSerializer]):
    """Every CRUD action over `Item`, and the hooks' types from inside an action."""

    @action
    async def rename(self, pk: int, *, name: str) -> Response[str]:
        assert_type(self.model, type[Item])
        assert_type(self.serializer_class, type[ItemSerializer])
        assert_type(type(self).model, type[Item])
        assert_type(self.queryset, QuerySet[Item] | Manager[Item] | None)
        assert_type(await self.aget_object(pk=pk), Item)
        assert_type(await self.aget_object(), Item)
        return Response.ok(name)

    @action
    def inspect(self, pk: int) -> Response[int]:
        assert_type(self.get_object(pk=pk), Item)
        assert_type(self.get_object(), Item)
        assert_type(self.get_object(slug="lamp"), Item)
        assert_type(self.get_queryset(), QuerySet[Item])
        assert_type(self.filter_queryset(self.get_queryset()), QuerySet[Item])
        assert_type(self.filter_list(self.get_queryset()), QuerySet[Item])
        assert_type(self.get_serializer_class(), type[ItemSerializer])
        assert_type(self.get_serializer(), ItemSerializer)
        assert_type(self.get_serializer(self.get_object(pk=pk)), ItemSerializer)
        assert_type(self.get_serializer(data={"name": "lamp"}, partial=True), ItemSerializer)
        assert_type(self.get_serializer_context(), dict[str, Any])
        assert_type(self.serialize(self.get_object(pk=pk)), ReturnDict[str, Any])
        item = self.get_serializer(data={"name": "lamp"}).save()
        assert_type(item, Item)
        return Response.ok(item.pk)

    @action
    def names(self, many: bool) -> Response[ReturnList[Any]]:
        rows = self.get_serializer(self.get_queryset(), many=True)
        assert_type(rows, ManySerializer[ItemSerializer])
        assert_type(rows.child, ItemSerializer)
        assert_type(rows.validated_data, list[Any])
        assert_type(self.get_serializer(self.get_queryset(), many=False), ItemSerializer)
        either = self.get_serializer(self.get_queryset(), many=many)
        assert_type(either, ItemSerializer | ManySerializer[ItemSerializer])
        return Response.ok(rows.data)

    @action
    def import_items(self, rows: list[JSONObject]) -> Response[int]:
        serializer = self.get_serializer(data=rows, many=True)
        serializer.is_valid(raise_exception=True)
        return Response.created(len(serializer.save()))


class OwnItems(ModelConsumer[Item, ItemSerializer]):
    """Per-user rows, typed filters and DRF's save hooks, overridden with their types."""

    queryset = Item.objects.filter(done=False)

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.filter(owner__username=self.user.get_username())

    def filter_list(
        self, queryset: QuerySet[Item], *, done: bool | None = None, name: str = ""
    ) -> QuerySet[Item]:
        if done is not None:
            queryset = queryset.filter(done=done)
        return queryset.filter(name__icontains=name) if name else queryset

    def get_object(self, **lookup: LookupValue) -> Item:
        item = super().get_object(**lookup)
        assert_type(item, Item)
        return item

    def get_serializer_class(self) -> type[ItemSerializer]:
        return ItemSerializer

    def perform_create(self, serializer: ItemSerializer) -> None:
        serializer.save(owner=None)

    def perform_update(self, serializer: ItemSerializer) -> None:
        assert_type(serializer.save(), Item)

    def perform_destroy(self, instance: Item) -> None:
        assert_type(instance.name, str)
        instance.delete()

    @action
    def done_count(self) -> Response[int]:
        assert_type(self.filter_list(self.get_queryset(), done=True), QuerySet[Item])
        return Response.ok(self.filter_list(self.get_queryset(), done=True, name="a").count())


class PagedItems(PaginatedModelConsumer[Item, ItemSerializer]):
    pass


class StreamedItems(StreamedListModelMixin[Item, ItemSerializer]):
    pass


class ReadOnlyNotes(ReadOnlyModelConsumer[Note, NoteSerializer]):
    def get_queryset(self) -> QuerySet[Note]:
        return Note.objects.order_by("-pk")


class ItemRetriever(RetrieveModelMixin[Item, ItemSerializer]):
    """A mixin used alone is a complete consumer of its one action."""

    @action
    def name(self, pk: int) -> Response[str]:
        assert_type(self.get_object(pk=pk), Item)
        assert_type(self.get_serializer(), ItemSerializer)
        return Response.ok(self.get_object(pk=pk).name)


class ItemCreator(CreateModelMixin[Item, ItemSerializer]):
    def perform_create(self, serializer: ItemSerializer) -> None:
        serializer.save()


class ItemDestroyer(DeleteModelMixin[Item, ItemSerializer]):
    def perform_destroy(self, instance: Item) -> None:
        instance.delete()


class ItemEditor(UpdateModelMixin[Item, ItemSerializer], PatchModelMixin[Item, ItemSerializer]):
    def perform_update(self, serializer: ItemSerializer) -> None:
        serializer.save()


class ItemLister(ListModelMixin[Item, ItemSerializer]):
    pass


class PagedItemLister(PaginatedListModelMixin[Item, ItemSerializer]):
    pass


class ItemBase(GenericModelConsumer[Item, ItemSerializer]):
    """The generic base alone: hooks without actions."""


# On the class, through `type[...]`: mypy reports `ItemConsumer.model` itself as an ambiguous
# access to a generic instance variable (pyright accepts both).
def on_the_class(consumer: type[ItemConsumer], notes: type[ReadOnlyNotes]) -> None:
    assert_type(consumer.model, type[Item])
    assert_type(consumer.serializer_class, type[ItemSerializer])
    assert_type(notes.model, type[Note])
    assert_type(notes.serializer_class, type[NoteSerializer])


async def crud_calls() -> None:
    async with ApiClient(ItemConsumer) as client:
        created = await client.call(ItemConsumer.create, data={"name": "lamp", "slug": "lamp"})
        assert_type(created, Response[ReturnDict[str, Any]])
        assert_type(created.data, ReturnDict[str, Any])
        payload: JSONObject = {"name": "desk", "slug": "desk", "done": False}
        assert_type(await client.call(ItemConsumer.create, payload), Response[ReturnDict[str, Any]])
        assert_type(await client.call(ItemConsumer.list), Response[ReturnList[Any]])
        assert_type(await client.call(ItemConsumer.list, done=True), Response[ReturnList[Any]])
        assert_type(await client.call(ItemConsumer.retrieve, pk=1), Response[ReturnDict[str, Any]])
        assert_type(
            await client.call(ItemConsumer.retrieve, slug="lamp"), Response[ReturnDict[str, Any]]
        )
        assert_type(
            await client.call(ItemConsumer.update, pk=1, data={"name": "desk", "slug": "desk"}),
            Response[ReturnDict[str, Any]],
        )
        assert_type(
            await client.call(ItemConsumer.patch, pk=1, data={"done": True}),
            Response[ReturnDict[str, Any]],
        )
        assert_type(await client.call(ItemConsumer.delete, pk=1), Response[None])
        assert_type((await client.call(ItemConsumer.delete, pk=1)).data, None)
        assert_type(await client.call(ItemConsumer.rename, 1, name="desk"), Response[str])

    async with ApiClient(OwnItems) as client:
        assert_type(await client.call(OwnItems.list, done=False), Response[ReturnList[Any]])
        assert_type(await client.call(OwnItems.done_count), Response[int])

    async with ApiClient(PagedItems) as client:
        page = await client.call(PagedItems.list, limit=10, offset=20)
        assert_type(page, Response[Page[dict[str, Any]]])
        assert_type(page.data, Page[dict[str, Any]])
        assert_type(page.data.results, list[dict[str, Any]])
        assert_type(page.data.count, int)
        assert_type(await client.call(PagedItems.list), Response[Page[dict[str, Any]]])

    async with ApiClient(StreamedItems) as client:
        streamed = await client.call_streamed(StreamedItems.stream_list, limit=2)
        assert_type(streamed, tuple[list[JSONValue], Response[StreamEnd]])
        pages, end = streamed
        assert_type(pages, list[JSONValue])
        assert_type(end.data, StreamEnd)
        assert_type(end.data.count, int)
        assert_type(end.data.cancelled, bool)
        assert_type(await client.call(StreamedItems.cancel, target="call-1"), Response[None])
        stream = await client.stream(StreamedItems.stream_list, done=True)
        assert_type(stream, Stream[StreamEnd])
        async for stream_page in stream:
            assert_type(stream_page, JSONValue)
        assert_type(await stream.cancel(), None)
        assert_type(stream.response, Response[StreamEnd])

    async with ApiClient(ItemRetriever) as client:
        assert_type(await client.call(ItemRetriever.retrieve, pk=1), Response[ReturnDict[str, Any]])
        assert_type(await client.call(ItemRetriever.name, pk=1), Response[str])

    async with ApiClient(ReadOnlyNotes) as client:
        assert_type(await client.call(ReadOnlyNotes.list), Response[ReturnList[Any]])
        assert_type(await client.call(ReadOnlyNotes.retrieve, pk=1), Response[ReturnDict[str, Any]])
    async with ApiClient(PagedItemLister) as client:
        assert_type(await client.call(PagedItemLister.list), Response[Page[dict[str, Any]]])
    async with ApiClient(ItemLister) as client:
        assert_type(await client.call(ItemLister.list), Response[ReturnList[Any]])
    async with ApiClient(ItemCreator) as client:
        assert_type(
            await client.call(ItemCreator.create, data={"name": "x"}),
            Response[ReturnDict[str, Any]],
        )
    async with ApiClient(ItemEditor) as client:
        assert_type(
            await client.call(ItemEditor.patch, pk=1, data={}), Response[ReturnDict[str, Any]]
        )
        assert_type(
            await client.call(ItemEditor.update, pk=1, data={}), Response[ReturnDict[str, Any]]
        )
    async with ApiClient(ItemDestroyer) as client:
        assert_type(await client.call(ItemDestroyer.delete, pk=1), Response[None])
