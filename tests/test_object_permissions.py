"""Object permissions: has_object_permission guards every action that reaches get_object."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework import permissions as drf
from rest_framework.request import Request
from rest_framework.views import APIView

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from tests.frames import ask, error_reply
from typed_dcrf import (
    ActionContext,
    AsyncAPIConsumer,
    BasePermission,
    ModelConsumer,
    NotFound,
    PaginatedModelConsumer,
    Response,
    action,
    db,
)
from typed_dcrf.permissions import PermissionSpec
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject

pytestmark = pytest.mark.django_db(transaction=True)

NOT_AUTHENTICATED = ["Authentication credentials were not provided."]
DENIED = ["You do not have permission to perform this action."]
MISSING = ["Not found"]
"""The 404 of a missing object (DCRF's text)."""
NOT_FOUND = ["Not found."]
"""The 404 of ``raise NotFound``."""
OWNER_ONLY = "Only its owner may touch this item."
ASYNC_OWNER_ONLY = "Only its owner may touch this item (async)."
DONE_ONLY = "Only finished items."

CALLS: list[str] = []
"""What the recording permissions were asked, in order: "action <name>" or "object <name>"."""

THREADS: list[tuple[str, int]] = []
"""(event, thread) pairs: database trips and the checks and hooks that ran in them."""


@pytest.fixture(autouse=True)
def _clear_records() -> Iterator[None]:
    yield
    CALLS.clear()
    THREADS.clear()


@pytest.fixture
def bob() -> User:
    """An authenticated user who is not staff."""
    return User.objects.create_user("bob")


@pytest.fixture
def carol() -> User:
    """A staff user."""
    return User.objects.create_user("carol", is_staff=True)


@pytest.fixture
def bobs(bob: User) -> Item:
    """An unfinished item owned by bob."""
    return Item.objects.create(name="bob's", slug="bobs", owner=bob)


@pytest.fixture
def carols(carol: User) -> Item:
    """An unfinished item owned by carol."""
    return Item.objects.create(name="carol's", slug="carols", owner=carol)


def owner_pk(item: Item) -> object:
    """The pk of ``item``'s owner, read without a query (async code may not query lazily)."""
    return item.serializable_value("owner")


class OwnerOnly(BasePermission):
    """Sync: only the item's owner."""

    message = OWNER_ONLY

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        CALLS.append(f"object {context.action}")
        return bool(context.user.is_authenticated and owner_pk(obj) == context.user.pk)


class AsyncOwnerOnly(BasePermission):
    """Async: only the item's owner, asked through the async ORM."""

    message = ASYNC_OWNER_ONLY

    async def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        CALLS.append(f"object {context.action}")
        if not context.user.is_authenticated:
            return False
        return await Item.objects.filter(pk=obj.pk, owner=context.user.pk).aexists()


class DrfIsOwner(drf.BasePermission):
    """A DRF permission: only the item's owner."""

    def has_object_permission(self, request: Request, view: APIView, obj: Item) -> bool:
        CALLS.append(f"object {request.method}")
        return bool(obj.owner == request.user)


class IsOwnerOrReadOnly(drf.BasePermission):
    """DRF's tutorial permission: anyone may read, only the owner may write."""

    def has_object_permission(self, request: Request, view: APIView, obj: Item) -> bool:
        if request.method in drf.SAFE_METHODS:
            return True
        return bool(obj.owner == request.user)


class IsDone(BasePermission):
    """Only finished items (no has_permission of its own: every action)."""

    message = DONE_ONLY

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        return obj.done


class RefuseObjects(BasePermission):
    """Allows every action, refuses every object."""

    message = "No object for you."

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        CALLS.append(f"object {context.action}")
        return False


class RefuseDelete(BasePermission):
    """Refuses the delete action; allows every object; records both checks."""

    message = "Deleting is not allowed."

    def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        CALLS.append(f"action {context.action}")
        return context.action != "delete"

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        CALLS.append(f"object {context.action}")
        return True


class HideOthers(BasePermission):
    """Hides other users' items: a 404 rather than a 403, raised from the object check."""

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        if owner_pk(obj) != context.user.pk:
            raise NotFound
        return True


class Items(ModelConsumer[Item, ItemSerializer]):
    """Every CRUD action, plus custom actions reaching their object through get_object."""

    @action()
    def finish(self, item: int) -> Response[str]:
        """Sync: mark the item done (get_object with an explicit lookup)."""
        obj = self.get_object(pk=item)
        obj.done = True
        obj.save(update_fields=["done"])
        return Response.ok(obj.name)

    @action()
    async def peek(self, pk: int) -> Response[str]:
        """Async: the item's name (aget_object with the action's own pk argument)."""
        obj = await self.aget_object()
        return Response.ok(obj.name)


def guarded(*specs: PermissionSpec) -> type[Items]:
    """An ``Items`` consumer with ``permission_classes = specs``."""

    class Guarded(Items):
        permission_classes = specs

    return Guarded


OBJECT_ACTIONS = ["retrieve", "peek", "update", "patch", "finish", "delete"]
"""Every action of ``Items`` that touches one object."""


def object_frame(action_name: str, item: Item) -> JSONObject:
    """The arguments of ``action_name`` on ``item``."""
    frames: dict[str, JSONObject] = {
        "retrieve": {"pk": item.pk},
        "peek": {"pk": item.pk},
        "update": {"pk": item.pk, "data": {"name": "changed", "slug": item.slug}},
        "patch": {"pk": item.pk, "data": {"name": "changed"}},
        "finish": {"item": item.pk},
        "delete": {"pk": item.pk},
    }
    return frames[action_name]


def read_data(reply: JSONObject) -> JSONObject:
    """The ``data`` object of a successful reply."""
    data = reply["data"]
    assert isinstance(data, dict), reply
    return data


async def reload(item: Item) -> Item | None:
    """``item`` as the database has it now (``None`` once deleted)."""
    return await db.run(Item.objects.filter(pk=item.pk).first)


async def assert_unchanged(item: Item) -> None:
    """``item`` still exists, with its name and done flag as they were."""
    now = await reload(item)
    assert now is not None
    assert (now.name, now.done) == (item.name, item.done)


KINDS = [
    pytest.param(OwnerOnly, OWNER_ONLY, id="sync"),
    pytest.param(AsyncOwnerOnly, ASYNC_OWNER_ONLY, id="async"),
    pytest.param(DrfIsOwner, DENIED[0], id="drf"),
]
"""Owner-only permissions of each kind, with the message they refuse with."""


@pytest.mark.parametrize("action_name", OBJECT_ACTIONS)
@pytest.mark.parametrize(
    "permission",
    [
        pytest.param(OwnerOnly, id="sync"),
        pytest.param(AsyncOwnerOnly, id="async"),
        pytest.param(DrfIsOwner, id="drf"),
    ],
)
async def test_owner_may_run_every_object_action(
    permission: PermissionSpec, action_name: str, bob: User, bobs: Item
) -> None:
    """An owner-only object permission (sync, async, DRF) lets the owner act on the item."""
    async with ApiClient(guarded(permission), user=bob) as client:
        reply = await ask(client, action_name, **object_frame(action_name, bobs))
    assert reply["errors"] == []
    assert reply["response_status"] == (204 if action_name == "delete" else 200)
    now = await reload(bobs)
    if action_name == "delete":
        assert now is None
        return
    assert now is not None
    assert now.name == ("changed" if action_name in ("update", "patch") else "bob's")
    assert now.done is (action_name == "finish")
    assert len(CALLS) == 1  # the object was checked, once


@pytest.mark.parametrize(("permission", "message"), KINDS)
async def test_other_user_is_refused_every_object_action_with_403(
    permission: PermissionSpec, message: str, bob: User, carols: Item
) -> None:
    """A non-owner gets 403 with the permission's message; the item is neither changed nor
    deleted."""
    async with ApiClient(guarded(permission), user=bob) as client:
        for action_name in OBJECT_ACTIONS:
            reply = await ask(client, action_name, **object_frame(action_name, carols))
            assert reply == error_reply(403, [message], action_name)
    await assert_unchanged(carols)
    assert len(CALLS) == len(OBJECT_ACTIONS)


@pytest.mark.parametrize(("permission", "message"), KINDS)
async def test_anonymous_user_is_refused_every_object_action_with_401(
    permission: PermissionSpec, message: str, carols: Item
) -> None:
    """An anonymous user refused by an object permission gets 401; the item is untouched."""
    async with ApiClient(guarded(permission)) as client:
        for action_name in OBJECT_ACTIONS:
            reply = await ask(client, action_name, **object_frame(action_name, carols))
            assert reply == error_reply(401, NOT_AUTHENTICATED, action_name)
    await assert_unchanged(carols)


class RefusingItems(Items):
    permission_classes = (RefuseObjects,)


class RefusingPages(PaginatedModelConsumer[Item, ItemSerializer]):
    permission_classes = (RefuseObjects,)


async def test_create_and_list_do_not_check_object_permissions(bob: User, bobs: Item) -> None:
    """create, list and the paginated list never ask has_object_permission; retrieve does."""
    async with ApiClient(RefusingItems, user=bob) as client:
        created = await client.call(RefusingItems.create, data={"name": "new", "slug": "new"})
        listed = await client.call(RefusingItems.list)
        assert CALLS == []
        refused = await ask(client, "retrieve", pk=bobs.pk)
    async with ApiClient(RefusingPages, user=bob) as client:
        page = await client.call(RefusingPages.list)
    assert created.status == 201
    assert [row["name"] for row in listed.data] == ["bob's", "new"]
    assert [row["name"] for row in page.data.results] == ["bob's", "new"]
    assert refused == error_reply(403, ["No object for you."], "retrieve")
    assert CALLS == ["object retrieve"]


async def test_has_permission_runs_before_the_object_is_fetched(bob: User, bobs: Item) -> None:
    """has_permission is asked first; when it refuses, has_object_permission is never asked
    and the object stays."""
    async with ApiClient(guarded(RefuseDelete), user=bob) as client:
        refused = await ask(client, "delete", pk=bobs.pk)
        assert CALLS == ["action delete"]
        retrieved = await client.call(Items.retrieve, pk=bobs.pk)
    assert refused == error_reply(403, ["Deleting is not allowed."], "delete")
    assert retrieved.data["name"] == "bob's"
    assert CALLS == ["action delete", "action retrieve", "object retrieve"]
    await assert_unchanged(bobs)


async def test_missing_object_is_404_without_an_object_check(bob: User) -> None:
    """An object that does not exist is a 404; has_object_permission is not asked."""
    created = await db.run(Item.objects.create, name="gone", slug="gone")
    gone = Item(pk=created.pk, name="gone", slug="gone")
    await db.run(created.delete)
    async with ApiClient(guarded(RefuseDelete, OwnerOnly), user=bob) as client:
        for action_name in OBJECT_ACTIONS:
            if action_name == "delete":
                continue  # RefuseDelete refuses it before the lookup
            reply = await ask(client, action_name, **object_frame(action_name, gone))
            assert reply == error_reply(404, MISSING, action_name)
    looked_up = [f"action {name}" for name in OBJECT_ACTIONS if name != "delete"]
    assert looked_up == CALLS


@pytest.mark.parametrize(
    "specs",
    [
        pytest.param((drf.IsAuthenticatedOrReadOnly, IsOwnerOrReadOnly), id="list"),
        pytest.param((drf.IsAuthenticatedOrReadOnly & IsOwnerOrReadOnly,), id="and"),
    ],
)
async def test_drf_owner_or_read_only_guards_writes_only(
    specs: tuple[PermissionSpec, ...], bob: User, bobs: Item, carols: Item
) -> None:
    """DRF's tutorial combination: anyone retrieves any item; only owners write, others get 401
    (anonymous) or 403; custom actions count as writes."""
    consumer = guarded(*specs)
    async with ApiClient(consumer) as client:
        read = await ask(client, "retrieve", pk=carols.pk)
        peeked = await ask(client, "peek", pk=carols.pk)
        patched = await ask(client, "patch", pk=carols.pk, data={"name": "x"})
    assert read_data(read)["name"] == "carol's"
    # A custom action is sent to DRF permissions as method "PEEK": unsafe, even if it reads.
    assert peeked == error_reply(401, NOT_AUTHENTICATED, "peek")
    assert patched == error_reply(401, NOT_AUTHENTICATED, "patch")
    async with ApiClient(consumer, user=bob) as client:
        read = await ask(client, "retrieve", pk=carols.pk)
        patched = await ask(client, "patch", pk=carols.pk, data={"name": "x"})
        deleted = await ask(client, "delete", pk=carols.pk)
        finished = await ask(client, "finish", item=carols.pk)
        own = await client.call(Items.patch, data={"name": "mine"}, pk=bobs.pk)
    assert read_data(read)["name"] == "carol's"
    assert patched == error_reply(403, DENIED, "patch")
    assert deleted == error_reply(403, DENIED, "delete")
    assert finished == error_reply(403, DENIED, "finish")
    assert own.data["name"] == "mine"
    await assert_unchanged(carols)


# (permission, user, owner of the item, item done, status, errors of a refusal)
COMBINATIONS = [
    pytest.param(
        drf.IsAdminUser | OwnerOnly, "carol", "bob", False, 200, [], id="admin|owner:staff"
    ),
    pytest.param(drf.IsAdminUser | OwnerOnly, "bob", "bob", False, 200, [], id="admin|owner:owner"),
    # DRF's OR: IsAdminUser allows every object, but only for the actions it allows.
    pytest.param(
        drf.IsAdminUser | OwnerOnly,
        "bob",
        "carol",
        False,
        403,
        [OWNER_ONLY],
        id="admin|owner:other",
    ),
    pytest.param(OwnerOnly | drf.IsAdminUser, "bob", "carol", False, 403, DENIED, id="owner|admin"),
    pytest.param(
        AsyncOwnerOnly | IsDone, "bob", "carol", True, 200, [], id="async-owner|done:done"
    ),
    pytest.param(
        AsyncOwnerOnly | IsDone, "bob", "carol", False, 403, [DONE_ONLY], id="async-owner|done:open"
    ),
    # DRF's NOT negates has_permission too: ~IsDone refuses every action, done or not.
    pytest.param(OwnerOnly & ~IsDone, "bob", "bob", False, 403, DENIED, id="owner&~done"),
    pytest.param(~OwnerOnly, "bob", "carol", False, 403, DENIED, id="~owner"),
    # ~IsAdminUser allows bob's actions, and refuses every object (IsAdminUser allows them all).
    pytest.param(~drf.IsAdminUser, "bob", "bob", False, 403, DENIED, id="~admin"),
    pytest.param(~drf.IsAdminUser | OwnerOnly, "bob", "bob", False, 200, [], id="~admin|owner"),
    pytest.param(DrfIsOwner & AsyncOwnerOnly, "bob", "bob", False, 200, [], id="drf&async:owner"),
    pytest.param(
        AsyncOwnerOnly & DrfIsOwner, "bob", "carol", False, 403, [ASYNC_OWNER_ONLY], id="async&drf"
    ),
    pytest.param(
        ~drf.IsAdminUser | DrfIsOwner, "carol", "bob", False, 403, DENIED, id="~admin|drf-owner"
    ),
    pytest.param(
        (drf.IsAdminUser | OwnerOnly) & ~IsDone,
        "carol",
        "bob",
        True,
        403,
        DENIED,
        id="(admin|owner)&~done",
    ),
]


@pytest.mark.parametrize(
    ("spec", "user_name", "owner_name", "done", "status", "errors"), COMBINATIONS
)
async def test_combined_object_permissions_follow_drf_semantics(
    spec: PermissionSpec,
    user_name: str,
    owner_name: str,
    done: bool,
    status: int,
    errors: list[str],
    bob: User,
    carol: User,
) -> None:
    """&, | (a branch allows an object only if it allows the action) and ~ over sync, async
    and DRF object checks, from a sync and an async action alike."""
    users = {"bob": bob, "carol": carol}
    item = await db.run(
        Item.objects.create, name="item", slug="item", owner=users[owner_name], done=done
    )
    async with ApiClient(guarded(spec), user=users[user_name]) as client:
        peeked = await ask(client, "peek", pk=item.pk)
        patched = await ask(client, "patch", pk=item.pk, data={"name": "changed"})
    if status == 200:
        assert peeked["data"] == "item"
        assert patched["response_status"] == 200
        assert patched["errors"] == []
    else:
        assert peeked == error_reply(status, errors, "peek")
        assert patched == error_reply(status, errors, "patch")
        await assert_unchanged(item)


def record(event: str) -> None:
    THREADS.append((event, threading.get_ident()))


def record_trip() -> None:
    """Stands in for close_old_connections, which runs as every database trip begins and ends."""
    record("trip")


class RecordingDrfPermission(drf.BasePermission):
    """Allows everything, recording the thread of each check."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        record("has_permission")
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Item) -> bool:
        record("has_object_permission")
        return True


class RecordingItems(Items):
    permission_classes = (RecordingDrfPermission,)

    def perform_update(self, serializer: ItemSerializer) -> None:
        record("perform_update")
        serializer.save()


async def test_sync_action_checks_permissions_in_its_one_database_trip(
    monkeypatch: pytest.MonkeyPatch, bobs: Item
) -> None:
    """A sync action runs has_permission, has_object_permission and the action itself in one
    trip to the database thread."""
    # channels' database_sync_to_async calls close_old_connections on entering and leaving the
    # thread (the test communicator swaps it for its _no_op while awaiting): both count.
    monkeypatch.setattr("channels.db.close_old_connections", record_trip)
    monkeypatch.setattr("typed_dcrf.testing._no_op", record_trip)
    async with ApiClient(RecordingItems) as client:
        THREADS.clear()  # the handshake's check: a trip of its own
        reply = await client.call(RecordingItems.patch, data={"name": "changed"}, pk=bobs.pk)
    assert reply.data["name"] == "changed"
    events = [event for event, _ in THREADS]
    assert events == ["trip", "has_permission", "has_object_permission", "perform_update", "trip"]
    threads = {thread for _, thread in THREADS}
    assert len(threads) == 1
    assert threads != {threading.get_ident()}


async def test_object_permission_may_raise_to_hide_the_object(bob: User, carols: Item) -> None:
    """An error raised by has_object_permission is the reply (here a 404 hiding the item)."""
    async with ApiClient(guarded(HideOthers), user=bob) as client:
        for action_name in OBJECT_ACTIONS:
            reply = await ask(client, action_name, **object_frame(action_name, carols))
            assert reply == error_reply(404, NOT_FOUND, action_name)
    await assert_unchanged(carols)


async def test_drf_model_permissions_use_the_consumers_queryset(bob: User, bobs: Item) -> None:
    """DRF's DjangoModelPermissions finds the model through the consumer's get_queryset and
    asks for Django's change/delete permissions by action."""
    editor = await db.run(User.objects.create_user, "editor")
    change = await db.run(Permission.objects.get, codename="change_item")
    # django-stubs leaves the through model of this many-to-many field unknown to pyright.
    await db.run(editor.user_permissions.add, change)  # pyright: ignore[reportUnknownMemberType]
    consumer = guarded(drf.DjangoModelPermissions)
    async with ApiClient(consumer, user=bob) as client:
        retrieved = await ask(client, "retrieve", pk=bobs.pk)
        patched = await ask(client, "patch", pk=bobs.pk, data={"name": "changed"})
    assert retrieved["response_status"] == 200
    assert patched == error_reply(403, DENIED, "patch")
    await assert_unchanged(bobs)
    async with ApiClient(consumer, user=editor) as client:
        patched = await ask(client, "patch", pk=bobs.pk, data={"name": "changed"})
        deleted = await ask(client, "delete", pk=bobs.pk)
    assert patched["response_status"] == 200
    assert deleted == error_reply(403, DENIED, "delete")
