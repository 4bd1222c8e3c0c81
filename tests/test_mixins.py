"""The CRUD mixins: each usable alone, DCRF's frames and statuses, DRF's save hooks, DRF-worded
400s that keep the connection open, and no more queries (in one DB-thread trip) than DRF."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from tests.frames import ask, item_row, reply
from tests.queries import database_thread_queries
from typed_dcrf import (
    ActionContext,
    AsyncAPIConsumer,
    BasePermission,
    CreateModelMixin,
    DeleteModelMixin,
    ListModelMixin,
    ModelConsumer,
    PaginatedModelConsumer,
    PatchModelMixin,
    ReadOnlyModelConsumer,
    RetrieveModelMixin,
    UpdateModelMixin,
    db,
)
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject, JSONValue

CRUD = ("create", "list", "retrieve", "update", "patch", "delete")
STATUSES = {"create": 201, "list": 200, "retrieve": 200, "update": 200, "patch": 200, "delete": 204}
"""DCRF's status of each CRUD action's success."""


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def alice(transactional_db: None) -> User:
    """The connection's user where one is needed."""
    return User.objects.create_user("alice")


@pytest.fixture
def items(transactional_db: None) -> list[Item]:
    """Three items, in pk order: milk, eggs, tea."""
    return [
        Item.objects.create(name="Milk", slug="milk"),
        Item.objects.create(name="Eggs", slug="eggs", done=True),
        Item.objects.create(name="Tea", slug="tea"),
    ]


def valid_frame(action_name: str, item: Item, tag: str) -> dict[str, JSONValue]:
    """The arguments of a valid call of a CRUD action on ``item`` (``tag`` keeps slugs unique)."""
    frames: dict[str, dict[str, JSONValue]] = {
        "create": {"data": {"name": f"New {tag}", "slug": f"new-{tag}"}},
        "list": {},
        "retrieve": {"pk": item.pk},
        "update": {"pk": item.pk, "data": {"name": f"Updated {tag}", "slug": f"updated-{tag}"}},
        "patch": {"pk": item.pk, "data": {"name": f"Patched {tag}"}},
        "delete": {"pk": item.pk},
    }
    return frames[action_name]


async def reload(item: Item) -> Item | None:
    """``item`` as the database now holds it (``None``: deleted)."""
    return await Item.objects.filter(pk=item.pk).afirst()


# --- each mixin alone ---------------------------------------------------------------------


class OnlyCreate(CreateModelMixin[Item, ItemSerializer]):
    """create only."""


class OnlyList(ListModelMixin[Item, ItemSerializer]):
    """list only."""


class OnlyRetrieve(RetrieveModelMixin[Item, ItemSerializer]):
    """retrieve only."""


class OnlyUpdate(UpdateModelMixin[Item, ItemSerializer]):
    """update only."""


class OnlyPatch(PatchModelMixin[Item, ItemSerializer]):
    """patch only."""


class OnlyDelete(DeleteModelMixin[Item, ItemSerializer]):
    """delete only."""


class CreateAndList(CreateModelMixin[Item, ItemSerializer], ListModelMixin[Item, ItemSerializer]):
    """Two mixins combined."""


class ReadOnlyItems(ReadOnlyModelConsumer[Item, ItemSerializer]):
    """list and retrieve."""


class ItemConsumer(ModelConsumer[Item, ItemSerializer]):
    """Every CRUD action."""


class PaginatedItems(PaginatedModelConsumer[Item, ItemSerializer]):
    """Every CRUD action, list paginated."""


SINGLE: list[tuple[type[AsyncAPIConsumer], str]] = [
    (OnlyCreate, "create"),
    (OnlyList, "list"),
    (OnlyRetrieve, "retrieve"),
    (OnlyUpdate, "update"),
    (OnlyPatch, "patch"),
    (OnlyDelete, "delete"),
]


@pytest.mark.parametrize(
    ("consumer", "names"),
    [
        *((consumer, {name}) for consumer, name in SINGLE),
        (CreateAndList, {"create", "list"}),
        (ReadOnlyItems, {"list", "retrieve"}),
        (ItemConsumer, set(CRUD)),
        (PaginatedItems, set(CRUD)),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_actions_of_each_consumer(consumer: type[AsyncAPIConsumer], names: set[str]) -> None:
    """Each mixin adds exactly its action; the prebuilt consumers have exactly theirs."""
    assert set(consumer.actions) == names


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("consumer", "name"), SINGLE, ids=[name for _, name in SINGLE])
async def test_mixin_alone_serves_its_action_and_refuses_the_others(
    items: list[Item], consumer: type[AsyncAPIConsumer], name: str
) -> None:
    """A one-mixin consumer answers its own action (2xx) and every other CRUD action with 405;
    the connection stays open throughout."""
    async with ApiClient(consumer) as client:
        for other in CRUD:
            if other != name:
                refused = await ask(client, other, **valid_frame(other, items[0], "x"))
                assert refused == reply(other, 405, errors=[f'Method "{other}" not allowed.'])
        served = await ask(client, name, **valid_frame(name, items[0], "x"))
    assert served["errors"] == []
    assert served["response_status"] == STATUSES[name]
    assert await Item.objects.acount() == 3 + (name == "create") - (name == "delete")


# --- DCRF's frames and statuses -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_create_frame() -> None:
    """create {data} → the whole DCRF frame: 201, the serialized object, request_id echoed."""
    key = "0b6a3a3e-7a4b-4f2e-9d07-6f1f6c1b2b55"
    async with ApiClient(ItemConsumer) as client:
        await client.send(
            {
                "action": "create",
                "request_id": 7,
                "data": {"name": "Jam", "slug": "jam", "uuid": key},
            }
        )
        received = await client.receive()
    item = await Item.objects.aget(slug="jam")
    assert received == {
        "errors": [],
        "data": {
            "id": item.pk,
            "name": "Jam",
            "slug": "jam",
            "uuid": key,
            "done": False,
            "owner": None,
        },
        "action": "create",
        "response_status": 201,
        "request_id": 7,
    }


@pytest.mark.django_db(transaction=True)
async def test_delete_frame(items: list[Item]) -> None:
    """delete {pk} → the whole DCRF frame: 204 with data null, request_id echoed; row gone."""
    async with ApiClient(ItemConsumer) as client:
        await client.send({"action": "delete", "request_id": {"n": [1]}, "pk": items[1].pk})
        received = await client.receive()
    assert received == {
        "errors": [],
        "data": None,
        "action": "delete",
        "response_status": 204,
        "request_id": {"n": [1]},
    }
    assert [item.slug async for item in Item.objects.all()] == ["milk", "tea"]


@pytest.mark.django_db(transaction=True)
async def test_list_frame(items: list[Item]) -> None:
    """list → 200 with a JSON list of every object, in the model's ordering."""
    async with ApiClient(ItemConsumer) as client:
        assert await ask(client, "list") == reply("list", 200, [item_row(item) for item in items])
        await Item.objects.all().adelete()
        assert await ask(client, "list") == reply("list", 200, [])


@pytest.mark.django_db(transaction=True)
async def test_retrieve_frame(items: list[Item]) -> None:
    """retrieve {pk} → 200 with the object."""
    async with ApiClient(ItemConsumer) as client:
        assert await ask(client, "retrieve", pk=items[2].pk) == reply(
            "retrieve", 200, item_row(items[2])
        )


@pytest.mark.django_db(transaction=True)
async def test_update_frame_requires_every_required_field(items: list[Item]) -> None:
    """update {pk, data} → 200 with the saved object; without a required field, a 400."""
    milk = items[0]
    async with ApiClient(ItemConsumer) as client:
        missing = await ask(client, "update", pk=milk.pk, data={"name": "Oat milk"})
        assert missing == reply("update", 400, errors=[{"slug": ["This field is required."]}])
        updated = await ask(client, "update", pk=milk.pk, data={"name": "Oat", "slug": "oat"})
    expected = {**item_row(milk), "name": "Oat", "slug": "oat"}
    assert updated == reply("update", 200, expected)
    saved = await reload(milk)
    assert saved is not None
    assert item_row(saved) == expected


@pytest.mark.django_db(transaction=True)
async def test_patch_frame_changes_only_the_fields_sent(items: list[Item]) -> None:
    """patch {pk, data} → 200 with the saved object; required fields may be left out."""
    eggs = items[1]
    async with ApiClient(ItemConsumer) as client:
        patched = await ask(client, "patch", pk=eggs.pk, data={"name": "Brown eggs"})
        empty = await ask(client, "patch", pk=eggs.pk, data={})
    expected = {**item_row(eggs), "name": "Brown eggs"}
    assert patched == reply("patch", 200, expected)
    assert empty == reply("patch", 200, expected)
    saved = await reload(eggs)
    assert saved is not None
    assert item_row(saved) == expected


@pytest.mark.django_db(transaction=True)
async def test_typed_client_parses_each_crud_reply(items: list[Item]) -> None:
    """ApiClient.call returns each action's data and status."""
    async with ApiClient(ItemConsumer) as client:
        created = await client.call(ItemConsumer.create, data={"name": "Jam", "slug": "jam"})
        assert (created.status, created.data["slug"]) == (201, "jam")
        listed = await client.call(ItemConsumer.list)
        assert (listed.status, [r["slug"] for r in listed.data]) == (
            200,
            ["milk", "eggs", "tea", "jam"],
        )
        pk = created.data["id"]
        retrieved = await client.call(ItemConsumer.retrieve, pk=pk)
        assert (retrieved.status, retrieved.data) == (200, created.data)
        updated = await client.call(ItemConsumer.update, pk=pk, data={"name": "J", "slug": "j"})
        assert (updated.status, updated.data["slug"]) == (200, "j")
        patched = await client.call(ItemConsumer.patch, pk=pk, data={"done": True})
        assert (patched.status, patched.data["done"]) == (200, True)
        deleted = await client.call(ItemConsumer.delete, pk=pk)
    assert (deleted.status, deleted.data) == (204, None)


# --- DRF's save hooks ---------------------------------------------------------------------

HOOKS: list[str] = []
"""The save hooks of ``Hooked`` that ran, in order."""


@pytest.fixture(autouse=True)
def _clear_hooks() -> Iterator[None]:
    yield
    HOOKS.clear()


class Hooked(ModelConsumer[Item, ItemSerializer]):
    """Overrides every save hook: owner on create, done on update, a soft delete."""

    def perform_create(self, serializer: ItemSerializer) -> None:
        HOOKS.append("create")
        serializer.save(owner=self.user)

    def perform_update(self, serializer: ItemSerializer) -> None:
        HOOKS.append("update")
        serializer.save(done=True)

    def perform_destroy(self, instance: Item) -> None:
        HOOKS.append("destroy")
        instance.name = "(deleted)"
        instance.save(update_fields=["name"])


@pytest.mark.django_db(transaction=True)
async def test_perform_hooks_are_called(alice: User, items: list[Item]) -> None:
    """perform_create, perform_update (update and patch) and perform_destroy overrides run,
    and their changes are what the replies show."""
    milk, tea = items[0], items[2]
    async with ApiClient(Hooked, user=alice) as client:
        created = await client.call(Hooked.create, data={"name": "Jam", "slug": "jam"})
        assert created.data["owner"] == alice.pk
        updated = await client.call(Hooked.update, pk=milk.pk, data={"name": "M", "slug": "m"})
        assert updated.data["done"] is True
        patched = await client.call(Hooked.patch, pk=tea.pk, data={"name": "Green tea"})
        assert (patched.data["name"], patched.data["done"]) == ("Green tea", True)
        deleted = await client.call(Hooked.delete, pk=tea.pk)
        assert deleted.status == 204
    assert HOOKS == ["create", "update", "update", "destroy"]
    jam = await Item.objects.aget(slug="jam")
    assert jam.owner_id == alice.pk
    soft_deleted = await reload(tea)
    assert soft_deleted is not None
    assert (soft_deleted.name, soft_deleted.done) == ("(deleted)", True)


# --- bad input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    """A frame with bad input and the errors of its 400 reply."""

    id: str
    action: str
    arguments: JSONObject
    errors: list[JSONValue]


BAD_INPUTS = [
    BadInput(
        "wrong-field-types",
        "create",
        {"data": {"name": ["x"], "slug": "jam", "done": "maybe"}},
        [{"name": ["Not a valid string."], "done": ["Must be a valid boolean."]}],
    ),
    BadInput(
        "unknown-argument",
        "create",
        {"data": {"name": "Jam", "slug": "jam"}, "bogus": 1},
        [{"bogus": ["Unexpected field."]}],
    ),
    BadInput("missing-data", "create", {}, [{"data": ["This field is required."]}]),
    BadInput(
        "data-not-an-object",
        "create",
        {"data": ["name", "Jam"]},
        [{"data": ["Invalid data. Expected a dictionary, but got list."]}],
    ),
    BadInput(
        "data-a-string",
        "create",
        {"data": "name=Jam"},
        [{"data": ["Invalid data. Expected a dictionary, but got str."]}],
    ),
    BadInput(
        "missing-required-field",
        "create",
        {"data": {"name": "Jam"}},
        [{"slug": ["This field is required."]}],
    ),
    BadInput(
        "duplicate-slug",
        "create",
        {"data": {"name": "More milk", "slug": "milk"}},
        [{"slug": ["item with this slug already exists."]}],
    ),
    BadInput(
        "invalid-slug-and-uuid",
        "create",
        {"data": {"name": "Jam", "slug": "not a slug", "uuid": "nope"}},
        [
            {
                "slug": [
                    'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
                ],
                "uuid": ["Must be a valid UUID."],
            }
        ],
    ),
    BadInput(
        "unknown-owner",
        "create",
        {"data": {"name": "Jam", "slug": "jam", "owner": 2_000_000_000}},
        [{"owner": ['Invalid pk "2000000000" - object does not exist.']}],
    ),
    BadInput(
        "update-missing-required-field",
        "update",
        {"pk": "ITEM", "data": {"name": "Oat milk"}},
        [{"slug": ["This field is required."]}],
    ),
    BadInput(
        "update-duplicate-slug",
        "update",
        {"pk": "ITEM", "data": {"name": "Milk", "slug": "eggs"}},
        [{"slug": ["item with this slug already exists."]}],
    ),
    BadInput(
        "patch-wrong-pk-type",
        "patch",
        {"pk": "first", "data": {"name": "x"}},
        [{"pk": ["A valid integer is required."]}],
    ),
    BadInput(
        "patch-data-not-an-object",
        "patch",
        {"pk": "ITEM", "data": None},
        [{"data": ["Invalid data. Expected a dictionary, but got NoneType."]}],
    ),
    BadInput(
        "retrieve-wrong-pk-type",
        "retrieve",
        {"pk": [1]},
        [{"pk": ["A valid integer is required."]}],
    ),
    BadInput(
        "retrieve-misspelt-lookup",
        "retrieve",
        {"pkk": "ITEM"},
        [{"pk": ["This field is required."], "pkk": ["Unexpected field."]}],
    ),
    BadInput(
        "delete-unknown-argument",
        "delete",
        {"pk": "ITEM", "force": True},
        [{"force": ["Unexpected field."]}],
    ),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[bad.id for bad in BAD_INPUTS])
async def test_bad_input_is_a_400_and_the_connection_stays_open(
    items: list[Item], bad: BadInput
) -> None:
    """Each bad frame gets a 400 with DRF-worded field errors and changes nothing; a valid call
    on the same connection then succeeds."""
    milk = items[0]
    arguments = {k: milk.pk if v == "ITEM" else v for k, v in bad.arguments.items()}
    async with ApiClient(ItemConsumer) as client:
        assert await ask(client, bad.action, **arguments) == reply(
            bad.action, 400, errors=bad.errors
        )
        created = await client.call(ItemConsumer.create, data={"name": "Jam", "slug": "jam"})
        assert created.status == 201
    assert [item_row(item) async for item in Item.objects.exclude(slug="jam")] == [
        item_row(item) for item in items
    ]


# --- queries and trips to the database thread ---------------------------------------------


class ItemViewSet(viewsets.ModelViewSet[Item]):
    """DRF's equivalent of ItemConsumer, for the query counts."""

    queryset = Item.objects.all()
    serializer_class = ItemSerializer


@dataclass(frozen=True)
class Crud:
    """One CRUD action, as typed_dcrf and DRF's ModelViewSet name it, and its query count."""

    action: str
    method: str
    viewset_action: str
    queries: list[str]
    """The statements both run, by their first keyword (the same on SQLite and PostgreSQL)."""


CRUD_QUERIES = [
    # The unique validator of slug, the insert (RETURNING the id on both databases).
    Crud("create", "post", "create", ["SELECT", "INSERT"]),
    Crud("list", "get", "list", ["SELECT"]),
    Crud("retrieve", "get", "retrieve", ["SELECT"]),
    # get_object, the unique validator of slug, the update.
    Crud("update", "put", "update", ["SELECT", "SELECT", "UPDATE"]),
    # get_object, the update (no slug sent: no unique validator).
    Crud("patch", "patch", "partial_update", ["SELECT", "UPDATE"]),
    # get_object, the delete (not a fast one: tests.app.consumers observes Item, so Django's
    # collector sends post_delete, in a transaction).
    Crud("delete", "delete", "destroy", ["SELECT", "DELETE"]),
]


def drf_request(crud: Crud, item: Item, tag: str) -> tuple[int, JSONValue, list[str]]:
    """Run ``crud`` through ItemViewSet; its status, rendered data and SQL statements."""
    arguments = valid_frame(crud.action, item, tag)
    detail = "pk" in arguments
    path = f"/items/{item.pk}/" if detail else "/items/"
    body = json.dumps(arguments["data"]) if "data" in arguments else ""
    request = APIRequestFactory().generic(
        crud.method.upper(), path, body, content_type="application/json"
    )
    # DRF's stubs leave the type parameter of as_view's action values unknown.
    view = ItemViewSet.as_view({crud.method: crud.viewset_action})  # pyright: ignore[reportUnknownMemberType]
    with CaptureQueriesContext(connection) as captured:
        response = view(request, pk=item.pk) if detail else view(request)
    data: JSONValue = json.loads(JSONRenderer().render(response.data) or "null")
    return response.status_code, data, [query["sql"] for query in captured.captured_queries]


TRANSACTION_STATEMENTS = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
"""Logged on SQLite, not on PostgreSQL: left out of the comparisons."""


def keywords(statements: list[str]) -> list[str]:
    """The first keyword of each SQL statement, transaction control left out."""
    first = [statement.split(None, 1)[0].upper() for statement in statements]
    return [keyword for keyword in first if keyword not in TRANSACTION_STATEMENTS]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("crud", CRUD_QUERIES, ids=[crud.action for crud in CRUD_QUERIES])
async def test_queries_are_no_more_than_drf_in_one_trip(
    items: list[Item], trips: list[str], crud: Crud
) -> None:
    """Each CRUD action runs the statements DRF's ModelViewSet runs for it (never more, the
    numbers pinned), in exactly one trip to the database thread, with DRF's status."""
    drf_status, drf_data, drf_sql = await db.run(drf_request, crud, items[0], "drf")
    target = items[0] if crud.action in ("list", "retrieve") else items[1]
    async with ApiClient(ItemConsumer) as client, database_thread_queries() as ws_sql:
        trips.clear()
        received = await ask(client, crud.action, **valid_frame(crud.action, target, "ws"))
        sent = list(trips)
    assert received["errors"] == []
    assert received["response_status"] == drf_status
    if crud.action in ("list", "retrieve"):
        assert received["data"] == drf_data
    assert len(ws_sql) <= len(drf_sql), (ws_sql, drf_sql)
    assert (keywords(ws_sql), keywords(drf_sql)) == (crud.queries, crud.queries)
    assert len(sent) == 1, sent


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("action_name", "arguments", "status", "trips_made"),
    [
        ("retrieve", {"pk": "x"}, 400, 0),
        ("create", {"data": []}, 400, 0),
        ("retrieve", {"pk": 2_000_000_000}, 404, 1),
        ("create", {"data": {"name": "Jam"}}, 400, 1),
    ],
    ids=["bad-pk", "bad-data", "missing-row", "serializer-error"],
)
async def test_failed_actions_make_at_most_one_trip(
    items: list[Item],
    trips: list[str],
    action_name: str,
    arguments: JSONObject,
    status: int,
    trips_made: int,
) -> None:
    """Invalid arguments are refused before any trip to the database thread; a 404 or a
    serializer error costs the one trip of the action."""
    async with ApiClient(ItemConsumer) as client:
        trips.clear()
        received = await ask(client, action_name, **arguments)
        sent = list(trips)
    assert received["response_status"] == status
    assert len(sent) == trips_made, sent


class ReadsTheDatabase(BasePermission):
    """A sync permission whose checks query the database (they must run in its thread)."""

    def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        return Item.objects.exists()

    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        return Item.objects.filter(pk=obj.pk, done=False).exists()


class CheckedItems(ModelConsumer[Item, ItemSerializer]):
    """Every CRUD action behind ReadsTheDatabase."""

    permission_classes = (ReadsTheDatabase,)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", CRUD)
async def test_permission_checks_run_in_the_same_trip(
    items: list[Item], trips: list[str], name: str
) -> None:
    """The permission and object permission checks of a CRUD action share its one trip to the
    database thread: their queries are captured there, next to the action's."""
    async with ApiClient(CheckedItems) as client, database_thread_queries() as statements:
        trips.clear()
        received = await ask(client, name, **valid_frame(name, items[0], "checked"))
        sent = list(trips)
    assert received["response_status"] == STATUSES[name]
    assert len(sent) == 1, sent
    crud = next(crud for crud in CRUD_QUERIES if crud.action == name)
    object_check = [] if name in ("create", "list") else ["SELECT"]
    # has_permission first; has_object_permission right after get_object's SELECT.
    expected = ["SELECT", *crud.queries[:1], *object_check, *crud.queries[1:]]
    assert keywords(statements) == expected


@pytest.mark.django_db(transaction=True)
async def test_object_permission_refusal_changes_nothing(alice: User, items: list[Item]) -> None:
    """A done item is refused by the object check: 403, and the update does not happen."""
    async with ApiClient(CheckedItems, user=alice) as client:
        refused = await ask(client, "patch", pk=items[1].pk, data={"name": "Changed"})
    assert refused == reply(
        "patch", 403, errors=["You do not have permission to perform this action."]
    )
    assert (await reload(items[1]) or items[1]).name == "Eggs"


class OwnerSerializer(serializers.ModelSerializer[User]):
    items = serializers.ManyRelatedField(
        # DRF's stubs type the constructor with many=True's result too: a ManyRelatedField.
        child_relation=serializers.SlugRelatedField[Item](read_only=True, slug_field="slug"),  # pyright: ignore[reportArgumentType]
        read_only=True,
    )

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = User
        fields = ("id", "username", "items")


class Owners(UpdateModelMixin[User, OwnerSerializer]):
    """Updates users read with their items prefetched, and gives each update a new item."""

    queryset = User.objects.prefetch_related("items")

    def perform_update(self, serializer: OwnerSerializer) -> None:
        Item.objects.create(name="new", slug="new", owner=serializer.save())


@pytest.mark.django_db(transaction=True)
async def test_update_clears_prefetched_relations() -> None:
    """As in DRF, the reply is not built from relations prefetched before the update."""
    owner = await User.objects.acreate(username="olive")
    async with ApiClient(Owners) as client:
        reply = await client.call(Owners.update, pk=owner.pk, data={"username": "olivia"})
    assert reply.data == {"id": owner.pk, "username": "olivia", "items": ["new"]}


@pytest.mark.django_db(transaction=True)
async def test_dcrf_javascript_client_frames_are_served(items: list[Item]) -> None:
    """dcrf-client sends `data: {}` with list, retrieve and delete: it is accepted and ignored."""
    async with ApiClient(ItemConsumer) as client:
        listed = await ask(client, "list", data={})
        assert listed == reply("list", 200, [item_row(item) for item in items])
        retrieved = await ask(client, "retrieve", pk=items[0].pk, data={})
        assert retrieved == reply("retrieve", 200, item_row(items[0]))
        assert await ask(client, "delete", pk=items[0].pk, data={}) == reply("delete", 204)
