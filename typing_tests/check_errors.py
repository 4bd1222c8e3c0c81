"""Misuse of the public API that must fail type-checking, with mypy's and pyright's exact codes."""

# Each misuse sits on its own line with the exact error code of each checker. mypy runs with
# warn_unused_ignores and pyright with reportUnnecessaryTypeIgnoreComment, so a case fails CI as
# soon as the checker stops reporting it; tests/test_typing.py checks the bare file as well.

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from examples.live import ItemList
from tests.app.models import Item, Note
from tests.app.serializers import ItemSerializer, NoteSerializer
from tests.server.auth_consumers import Whoami
from typed_dcrf import (
    AsyncAPIConsumer,
    Demultiplexer,
    IsAuthenticated,
    ModelConsumer,
    PaginatedModelConsumer,
    Response,
    StreamedListModelMixin,
    TokenAuthMiddleware,
    TokenAuthMiddlewareStack,
    action,
    db,
    detached,
    notify,
    observe,
)
from typed_dcrf.auth import drf_token_user
from typed_dcrf.permissions import PermissionSpec
from typed_dcrf.testing import ApiClient


class Shop(AsyncAPIConsumer):
    @action
    async def price(self, pk: int, *, currency: str = "EUR") -> Response[float]:
        return Response.ok(1.5)

    @action
    def tax(self, pk: int) -> Response[float]:
        return Response.ok(0.2)

    async def helper(self, pk: int) -> Response[float]:
        return Response.ok(1.0)


class BadActions(AsyncAPIConsumer):
    # An action returns a Response: not a (data, status) tuple as in DCRF, nor bare data.
    @action  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    async def as_tuple(self) -> tuple[dict[str, int], int]:
        return {"pk": 1}, 201

    @action  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    async def as_dict(self) -> dict[str, int]:
        return {"pk": 1}

    @action(name="sync.dict")  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    def sync_dict(self) -> dict[str, int]:
        return {"pk": 1}

    @action
    async def wrong_data(self) -> Response[int]:
        return Response.ok("one")  # type: ignore[arg-type]  # pyright: ignore[reportReturnType]

    @action(nmae="typo")  # type: ignore[call-overload, untyped-decorator]  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def unknown_option(self) -> Response[int]:
        return Response.ok(1)


class BadPermissions(AsyncAPIConsumer):
    permission_classes = (int,)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


async def client_calls() -> None:
    async with ApiClient(Shop) as client:
        await client.call(Shop.price, pk="1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        await client.call(Shop.price, pk=1, curency="USD")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        await client.call(Shop.price)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        await client.call(Shop.price, 1, "USD")  # type: ignore[misc]  # pyright: ignore[reportCallIssue]
        await client.call(Shop.tax, pk=1.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        client.call(Shop.price, pk=1)  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]
        await client.call(Shop.helper, pk=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    ApiClient(Shop.price)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


async def instance_calls(shop: Shop) -> None:
    await shop.price(1, curency="USD")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await shop.price(pk="1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    shop.tax(pk=1, rate=0.1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await shop.tax(1)  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    # A forgotten await: the bound action returns a coroutine, which both checkers flag.
    shop.price(1)  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]


async def database() -> None:
    await db.run(len, 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await db.run(len, [], key=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    db.run(len, [])  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]


def responses(wide: Response[object]) -> Response[int]:
    wrong: Response[str] = Response.ok(1)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
    wrong.data = "a"  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
    return wide  # type: ignore[return-value]  # pyright: ignore[reportReturnType]


def permissions() -> PermissionSpec:
    return IsAuthenticated & int  # type: ignore[operator]  # pyright: ignore[reportOperatorIssue, reportUnknownVariableType]


class MisplacedOptions(AsyncAPIConsumer):
    @action(detached=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    def detached_sync(self) -> Response[int]:
        return Response.ok(1)

    @action(atomic=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    async def atomic_async(self) -> Response[int]:
        return Response.ok(1)


# Generic model consumers: the model and serializer declared by `[M, S]` type every hook.
class ItemConsumer(ModelConsumer[Item, ItemSerializer]):
    pass


class MismatchedAttributes(ModelConsumer[Item, ItemSerializer]):
    serializer_class = NoteSerializer  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    queryset = Note.objects.all()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    model = Note  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


class WrongHooks(ModelConsumer[Item, ItemSerializer]):
    def get_queryset(self) -> QuerySet[Note]:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return Note.objects.all()

    def get_object(self, **lookup: object) -> Note:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return Note(text="")

    async def aget_object(self, **lookup: object) -> Note:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return Note(text="")

    def get_serializer_class(self) -> type[NoteSerializer]:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return NoteSerializer

    def perform_create(self, serializer: NoteSerializer) -> None:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        serializer.save()

    def perform_update(self, serializer: NoteSerializer) -> None:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        serializer.save()

    def perform_destroy(self, instance: Note) -> None:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        instance.delete()

    # A required filter: the base hook is called without it, so the override is incompatible.
    def filter_list(self, queryset: QuerySet[Item], *, done: bool) -> QuerySet[Item]:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return queryset.filter(done=done)


class NotASerializer(ModelConsumer[Item, int]):  # type: ignore[type-var]  # pyright: ignore[reportInvalidTypeArguments]
    pass


class NotAModel(PaginatedModelConsumer[int, ItemSerializer]):  # type: ignore[type-var]  # pyright: ignore[reportInvalidTypeArguments]
    pass


class HookCalls(ModelConsumer[Item, ItemSerializer]):
    async def misuse(self) -> None:
        self.aget_object(pk=1)  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]
        self.get_object(pk=[1])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        self.get_object(pk=1.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        note: Note = await self.aget_object(pk=1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        serializer: NoteSerializer = self.get_serializer()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        print(note, serializer)


async def generic_calls() -> None:
    async with ApiClient(ItemConsumer) as client:
        await client.call(ItemConsumer.retrieve, pk=[1])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        await client.call(ItemConsumer.delete, pk=None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        await client.call(ItemConsumer.retrieve, 1)  # type: ignore[misc]  # pyright: ignore[reportCallIssue]
        await client.call(ItemConsumer.create, data="x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        await client.call(ItemConsumer.create)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        await client.call(ItemConsumer.update, pk=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        await client.call(ItemConsumer.patch, pk=1, data=[1])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        await client.call(ItemConsumer.list, 1)  # type: ignore[misc]  # pyright: ignore[reportCallIssue]
        await client.call_streamed(StreamedListModelMixin.stream_list, 1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        client.call(ItemConsumer.delete, pk=1)  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]


class BadTasks(AsyncAPIConsumer):
    # @detached starts a coroutine: a sync method cannot be one (mypy, failing to solve the
    # decorator, then doubts the decorated method's `self`).
    @detached  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    def sync_handler(self, message: dict[str, object]) -> None:  # type: ignore[misc]
        pass

    # start_task runs a coroutine, not what a sync function returns.
    async def starts(self) -> None:
        _ = self.start_task(self.helper())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportUnknownVariableType]

    def helper(self) -> int:
        return 1


# A stream is served by a consumer class, not by an instance or an ASGI application.
Demultiplexer.as_asgi(notes=Shop())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# The HTTP method is a string.
action(method=1)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]


# Observers: the serializer takes the observed model, group keys are tuples of str and int.
def note_text(note: Note) -> str:
    return note.text


def item_name(item: Item) -> str:
    return item.name


def owner_names(item: Item) -> list[str]:
    return [str(item.owner_id)]


class BadObservers(AsyncAPIConsumer):
    notes = observe(Item, note_text)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    owners = observe(Item, item_name, groups=owner_names)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    items = observe(Item, item_name)

    @action
    async def follow(self, owner: int) -> Response[None]:
        await self.items.subscribe(1.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        self.items.subscribe(owner)  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]
        return Response.created(None)


async def observer_calls() -> None:
    notify(Item, [1], action="save")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    async with ApiClient(BadObservers) as client:
        await client.subscribe(BadObservers.items.observer, BadObservers.follow, owner="1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        follows = await client.subscribe(BadObservers.items.observer, BadObservers.follow, 1)
        wrong: int | None = (await follows.next()).data  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        print(wrong)


async def list_subscription_calls() -> None:
    async with ApiClient(ItemList) as client:
        # Only a list-subscribing action gives a live list.
        await client.subscribe_list(ItemList.list_observer, ItemList.retrieve, pk=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        await client.subscribe_list(ItemList.list_observer, ItemList.subscribe_list, seq="yes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        todo = await client.subscribe_list(ItemList.list_observer, ItemList.subscribe_list)
        wrong: int = todo.reply.key  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        print(wrong)


# A Response is a success: a failure is raised (NotFound), never returned with its status.
Response(None, 404)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
Response(None, status=500)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def sync_lookup(key: str) -> AnonymousUser:
    return AnonymousUser()


def auth_stacks() -> None:
    # The consumer's application, not its class; a lookup is async, and given by keyword.
    TokenAuthMiddlewareStack(Whoami)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    TokenAuthMiddleware(Whoami.as_asgi(), lookup=sync_lookup)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    TokenAuthMiddleware(Whoami.as_asgi(), drf_token_user)  # type: ignore[misc]  # pyright: ignore[reportCallIssue]
