"""GenericModelConsumer[M, S]: model, queryset and serializer from the type parameters or the
attributes, definition-time checks, lookups typed by the model field, serializer context."""

from __future__ import annotations

import json
import types
import uuid
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.utils.serializer_helpers import ReturnDict
from rest_framework.views import APIView

from tests.app.models import Item, Note
from tests.app.serializers import ItemSerializer, NoteSerializer
from tests.frames import ask, error_reply, item_row
from typed_dcrf import (
    AsyncAPIConsumer,
    CreateModelMixin,
    DeleteModelMixin,
    GenericModelConsumer,
    ListModelMixin,
    LookupValue,
    ModelConsumer,
    PatchModelMixin,
    ReadOnlyModelConsumer,
    Response,
    RetrieveModelMixin,
    UpdateModelMixin,
    action,
    db,
    generics,
)
from typed_dcrf._drf import drf_request
from typed_dcrf.generics import M, S
from typed_dcrf.testing import ApiClient, ErrorReply
from typed_dcrf.types import JSONObject, JSONValue

CRUD = {"create", "list", "retrieve", "update", "patch", "delete"}
NOT_FOUND: list[JSONValue] = ["Not found"]
LOOKUP_ACTIONS: list[tuple[str, JSONObject]] = [
    ("retrieve", {}),
    ("update", {"data": {"name": "Changed", "slug": "changed"}}),
    ("patch", {"data": {"name": "Changed"}}),
    ("delete", {}),
]
"""Each action taking a lookup argument, with its other (valid) arguments."""
HOST = {"headers": [(b"host", b"testserver")]}
"""The scope of a connection whose handshake carried ``Host: testserver`` (channels'
WebsocketCommunicator puts no host header and no ``server`` in the scope it builds)."""


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def alice(transactional_db: None) -> User:
    """The connection's user in most tests."""
    return User.objects.create_user("alice")


@pytest.fixture
def bob(transactional_db: None) -> User:
    """Another user, whose items alice must not reach through per-user querysets."""
    return User.objects.create_user("bob")


@pytest.fixture
def items(alice: User, bob: User) -> list[Item]:
    """milk (alice's, not done), eggs (bob's, done), tea (nobody's, not done), in pk order."""
    return [
        Item.objects.create(name="Milk", slug="milk", owner=alice),
        Item.objects.create(name="Eggs", slug="eggs", owner=bob, done=True),
        Item.objects.create(name="Tea", slug="tea"),
    ]


def served(consumer: type[AsyncAPIConsumer]) -> tuple[object, object]:
    """A consumer class's ``model`` and ``serializer_class`` (``None`` when unset).

    Read with getattr: mypy refuses generic instance variables read through a class.
    """
    return getattr(consumer, "model", None), getattr(consumer, "serializer_class", None)


async def reload(item: Item) -> Item | None:
    """``item`` as the database now holds it (``None``: deleted)."""
    return await Item.objects.filter(pk=item.pk).afirst()


def not_found(action_name: str) -> dict[str, JSONValue]:
    """The exact 404 reply to a frame sent by ``ask``."""
    return error_reply(404, NOT_FOUND, action_name)


# --- consumers ----------------------------------------------------------------------------


class ItemConsumer(ModelConsumer[Item, ItemSerializer]):
    """Nothing but the type parameters."""


class ItemNameSerializer(ItemSerializer):
    """Item with only its id and name."""

    class Meta(ItemSerializer.Meta):
        fields = ("id", "name")  # type: ignore[assignment]  # fewer fields than the parent's tuple


class DoneItems(ModelConsumer[Item, ItemSerializer]):
    """An explicit queryset: only done items."""

    queryset = Item.objects.filter(done=True)


class NamedItems(ModelConsumer[Item, ItemSerializer]):
    """An explicit serializer_class: a subclass of the declared one, with fewer fields."""

    serializer_class = ItemNameSerializer


class OwnItems(ModelConsumer[Item, ItemSerializer]):
    """A per-user queryset: the connection's user's items only."""

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.filter(owner=self.user.pk)


class OwnItemsAgain(OwnItems):
    """A plain subclass: inherits the model, serializer, actions and queryset."""


class NamedItemsBySlug(NamedItems):
    """A subclass changing the lookup: its actions are validated for its own lookup."""

    lookup_field = "slug"


# Bare generic classes, as DCRF code declares them (type checkers want the parameters).
class DCRFItems(
    CreateModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    ListModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    RetrieveModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    UpdateModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    PatchModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    DeleteModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    GenericModelConsumer,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
):
    """Written as in DCRF: no type parameters, a queryset and a serializer_class."""

    queryset = Item.objects.all()
    serializer_class = ItemSerializer


class DCRFOpenItems(
    CreateModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    ListModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    RetrieveModelMixin,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
    GenericModelConsumer,  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument]
):
    """DCRF's other way: a serializer_class and get_queryset() overridden, no queryset."""

    serializer_class = ItemSerializer

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.filter(done=False)


class OwnedModelConsumer(ModelConsumer[M, S]):
    """A reusable generic base: still generic, so it serves no lookup or list action itself."""

    def get_queryset(self) -> QuerySet[M]:
        return super().get_queryset().filter(owner=self.user.pk)


class OwnedItems(OwnedModelConsumer[Item, ItemSerializer]):
    """The generic base made concrete."""


class ItemsBySlug(ModelConsumer[Item, ItemSerializer]):
    """Looked up by slug: the frame key is ``slug``."""

    lookup_field = "slug"


class Touching(ModelConsumer[Item, ItemSerializer]):
    """A custom action taking the consumer's lookup argument, whichever it is."""

    @action()
    def touch(self, /, **lookup: LookupValue) -> Response[int]:
        """Mark the item named by this action's lookup argument as done."""
        item = self.get_object()
        item.done = True
        item.save(update_fields=["done"])
        return Response.ok(item.pk)


class ItemsByKey(Touching):
    """Looked up by uuid, sent as ``key``."""

    lookup_field = "uuid"
    lookup_url_kwarg = "key"


class ItemsByOwner(ReadOnlyModelConsumer[Item, ItemSerializer]):
    """Looked up by a foreign key: the argument has the target's primary key type."""

    lookup_field = "owner"


class ItemsByDone(ReadOnlyModelConsumer[Item, ItemSerializer]):
    """Looked up by a boolean field."""

    lookup_field = "done"


class CustomActions(OwnItems, Touching):
    """Custom actions reaching objects through get_object / aget_object (``touch``: ``pk``)."""

    @action()
    async def rename(self, pk: int, name: str) -> Response[str]:
        """Rename the item ``pk`` from async code."""
        item = await self.aget_object(pk=pk)
        item.name = name
        await db.run(item.save, update_fields=["name"])
        return Response.ok(item.name)

    @action()
    async def name_of(self, pk: int) -> Response[str]:
        """The name of the item ``pk``, found by aget_object() from the action's arguments."""
        return Response.ok((await self.aget_object()).name)


# --- model, queryset and serializer -------------------------------------------------------


def test_type_parameters_set_the_model_and_serializer() -> None:
    """ModelConsumer[Item, ItemSerializer] alone sets model and serializer_class, no queryset."""
    assert served(ItemConsumer) == (Item, ItemSerializer)
    assert getattr(ItemConsumer, "queryset", "unset") is None
    assert set(ItemConsumer.actions) == CRUD


@pytest.mark.django_db(transaction=True)
async def test_type_parameters_alone_serve_the_default_manager(items: list[Item]) -> None:
    """Without attributes, every row of Item's default manager is served through ItemSerializer."""
    async with ApiClient(ItemConsumer) as client:
        listed = await client.call(ItemConsumer.list)
        assert listed.data == [item_row(item) for item in items]
        retrieved = await client.call(ItemConsumer.retrieve, pk=items[1].pk)
    assert retrieved.data == item_row(items[1])


@pytest.mark.django_db(transaction=True)
async def test_explicit_queryset_takes_precedence(items: list[Item]) -> None:
    """queryset = Item.objects.filter(done=True): list and retrieve see only those rows."""
    assert served(DoneItems) == (Item, ItemSerializer)
    async with ApiClient(DoneItems) as client:
        listed = await client.call(DoneItems.list)
        assert listed.data == [item_row(items[1])]
        assert (await client.call(DoneItems.retrieve, pk=items[1].pk)).data == item_row(items[1])
        with pytest.raises(ErrorReply) as caught:
            await client.call(DoneItems.retrieve, pk=items[0].pk)
    assert (caught.value.status, caught.value.errors) == (404, NOT_FOUND)


@pytest.mark.django_db(transaction=True)
async def test_explicit_queryset_is_reevaluated_for_every_action(items: list[Item]) -> None:
    """The class-level queryset is cloned per action: rows created later are listed."""
    async with ApiClient(DoneItems) as client:
        assert len((await client.call(DoneItems.list)).data) == 1
        await Item.objects.acreate(name="Jam", slug="jam", done=True)
        assert len((await client.call(DoneItems.list)).data) == 2


@pytest.mark.django_db(transaction=True)
async def test_explicit_serializer_class_takes_precedence(items: list[Item]) -> None:
    """serializer_class = ItemNameSerializer: replies carry only its fields."""
    assert served(NamedItems) == (Item, ItemNameSerializer)
    async with ApiClient(NamedItems) as client:
        retrieved = await client.call(NamedItems.retrieve, pk=items[0].pk)
        created = await client.call(NamedItems.create, data={"name": "Jam"})
    assert retrieved.data == {"id": items[0].pk, "name": "Milk"}
    assert created.status == 201
    assert created.data == {"id": created.data["id"], "name": "Jam"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("consumer", [OwnItems, OwnItemsAgain, OwnedItems])
async def test_overridden_get_queryset_is_used_by_every_action(
    consumer: type[ModelConsumer[Item, ItemSerializer]], alice: User, items: list[Item]
) -> None:
    """list, retrieve, update, patch and delete all go through get_queryset: bob's item is a 404
    for alice and stays untouched; her own item works (in subclasses too)."""
    mine, theirs = items[0], items[1]
    async with ApiClient(consumer, user=alice) as client:
        assert (await client.call(consumer.list)).data == [item_row(mine)]
        for name, arguments in LOOKUP_ACTIONS:
            assert await ask(client, name, pk=theirs.pk, **arguments) == error_reply(
                404, NOT_FOUND, name
            )
        unchanged = await reload(theirs)
        assert unchanged is not None
        assert unchanged.name == "Eggs"
        patched = await client.call(consumer.patch, pk=mine.pk, data={"name": "Oat milk"})
        assert patched.data["name"] == "Oat milk"
        assert (await client.call(consumer.delete, pk=mine.pk)).status == 204
    assert await reload(mine) is None


class NamesInLists(ModelConsumer[Item, ItemSerializer]):
    """get_serializer_class overridden: names only in lists."""

    def get_serializer_class(self) -> type[ItemSerializer]:
        return ItemNameSerializer if self.context.action == "list" else ItemSerializer


@pytest.mark.django_db(transaction=True)
async def test_overridden_get_serializer_class_is_used(items: list[Item]) -> None:
    """get_serializer_class() picks the serializer per action."""
    async with ApiClient(NamesInLists) as client:
        listed = await client.call(NamesInLists.list)
        retrieved = await client.call(NamesInLists.retrieve, pk=items[0].pk)
    assert listed.data == [{"id": item.pk, "name": item.name} for item in items]
    assert retrieved.data == item_row(items[0])


class Serialized(ItemConsumer):
    @action
    def as_list_row(self, pk: int) -> Response[ReturnDict[str, Any]]:
        return Response.ok(self.serialize(self.get_object(pk=pk)))


@pytest.mark.django_db(transaction=True)
async def test_serialize_is_get_serializers_data(items: list[Item]) -> None:
    """serialize(obj) is get_serializer(obj).data: get_serializer_class() and the context apply."""
    async with ApiClient(Serialized) as client:
        row = await client.call(Serialized.as_list_row, pk=items[0].pk)
    assert row.data == item_row(items[0])
    assert isinstance(row.data, ReturnDict)


def test_subclasses_inherit_model_serializer_and_actions() -> None:
    """A plain subclass keeps the model, serializer, queryset and every action."""
    assert served(OwnItemsAgain) == (Item, ItemSerializer)
    assert set(OwnItemsAgain.actions) == CRUD
    assert served(NamedItemsBySlug) == (Item, ItemNameSerializer)


@pytest.mark.django_db(transaction=True)
async def test_subclass_with_another_lookup_leaves_its_parent_unchanged(
    items: list[Item],
) -> None:
    """A subclass setting lookup_field="slug" validates its own frames; its parent keeps pk."""
    async with ApiClient(NamedItemsBySlug) as client:
        retrieved = await client.call(NamedItemsBySlug.retrieve, slug="tea")
        assert retrieved.data == {"id": items[2].pk, "name": "Tea"}
        assert await ask(client, "retrieve", pk=items[2].pk) == error_reply(
            400, [{"slug": ["This field is required."], "pk": ["Unexpected field."]}], "retrieve"
        )
    async with ApiClient(NamedItems) as client:
        assert (await client.call(NamedItems.retrieve, pk=items[2].pk)).data["name"] == "Tea"


def test_generic_base_serves_only_its_concrete_subclasses() -> None:
    """A base still generic in M and S has no model and leaves out the lookup and list actions;
    its concrete subclass gets them all."""
    assert served(OwnedModelConsumer) == (None, None)
    assert not set(OwnedModelConsumer.actions) & (CRUD - {"create"})
    assert served(OwnedItems) == (Item, ItemSerializer)
    assert set(OwnedItems.actions) == CRUD


def test_dcrf_style_class_reads_the_model_from_its_queryset() -> None:
    """Only queryset and serializer_class (DCRF's way): the model is the queryset's."""
    assert served(DCRFItems) == (Item, ItemSerializer)
    assert set(DCRFItems.actions) == CRUD


@pytest.mark.django_db(transaction=True)
async def test_dcrf_style_class_serves_crud(items: list[Item]) -> None:
    """The DCRF-style class creates, lists, retrieves, updates, patches and deletes."""
    async with ApiClient(DCRFItems) as client:
        created = await client.call(DCRFItems.create, data={"name": "Jam", "slug": "jam"})
        pk = created.data["id"]
        assert created.status == 201
        assert [r["slug"] for r in (await client.call(DCRFItems.list)).data] == [
            "milk",
            "eggs",
            "tea",
            "jam",
        ]
        assert (await client.call(DCRFItems.retrieve, pk=pk)).data["name"] == "Jam"
        updated = await client.call(DCRFItems.update, pk=pk, data={"name": "Jelly", "slug": "j"})
        assert (updated.data["name"], updated.data["slug"]) == ("Jelly", "j")
        patched = await client.call(DCRFItems.patch, pk=pk, data={"done": True})
        assert patched.data["done"] is True
        assert (await client.call(DCRFItems.delete, pk=pk)).status == 204
    assert not await Item.objects.filter(pk=pk).aexists()


def test_dcrf_style_class_overriding_get_queryset_keeps_its_actions() -> None:
    """Without type parameters or queryset, the model is the serializer's Meta.model: the
    lookup and list actions are served, not silently dropped (DCRF allows either attribute)."""
    assert served(DCRFOpenItems) == (Item, ItemSerializer)
    assert set(DCRFOpenItems.actions) == {"create", "list", "retrieve"}


@pytest.mark.django_db(transaction=True)
async def test_dcrf_style_class_overriding_get_queryset_serves_it(items: list[Item]) -> None:
    """The DCRF-style class without queryset lists and retrieves through its get_queryset."""
    async with ApiClient(DCRFOpenItems) as client:
        assert await ask(client, "list") == {
            "errors": [],
            "data": [item_row(items[0]), item_row(items[2])],
            "action": "list",
            "response_status": 200,
            "request_id": "list",
        }
        assert await ask(client, "retrieve", pk=items[1].pk) == error_reply(
            404, NOT_FOUND, "retrieve"
        )


# --- definition-time errors ---------------------------------------------------------------


def test_serializer_of_another_model_is_refused() -> None:
    """ModelConsumer[Item, NoteSerializer]: ImproperlyConfigured naming class, serializer and
    both models."""
    with pytest.raises(ImproperlyConfigured) as caught:

        class NotesAsItems(ModelConsumer[Item, NoteSerializer]):  # pyright: ignore[reportUnusedClass]
            pass

    message = str(caught.value)
    assert "NotesAsItems" in message
    assert "NoteSerializer serializes Note, not Item" in message


def test_explicit_serializer_class_of_another_model_is_refused() -> None:
    """serializer_class = NoteSerializer on an Item consumer (a type error too) is refused."""
    with pytest.raises(ImproperlyConfigured, match=r"WrongSerializer: NoteSerializer serializes"):

        class WrongSerializer(ModelConsumer[Item, ItemSerializer]):  # pyright: ignore[reportUnusedClass]
            serializer_class = cast("Any", NoteSerializer)


def test_dcrf_style_serializer_of_another_model_is_refused() -> None:
    """Without type parameters, the queryset's model must match the serializer's too."""
    with pytest.raises(ImproperlyConfigured, match=r"NoteItems: NoteSerializer serializes Note"):

        class NoteItems(ListModelMixin, GenericModelConsumer):  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument, reportUnusedClass]
            queryset = Item.objects.all()
            serializer_class = NoteSerializer


def test_queryset_of_another_model_is_refused() -> None:
    """A queryset of Note on an Item consumer (a type error too): ImproperlyConfigured."""
    with pytest.raises(ImproperlyConfigured) as caught:

        class NotesQueryset(ModelConsumer[Item, ItemSerializer]):  # pyright: ignore[reportUnusedClass]
            queryset = cast("Any", Note.objects.all())

    message = str(caught.value)
    assert "NotesQueryset" in message
    assert "queryset is of Note, not Item" in message


def test_missing_serializer_is_refused() -> None:
    """A DCRF-style class with a queryset and no serializer_class: ImproperlyConfigured."""
    with pytest.raises(ImproperlyConfigured, match=r"NoSerializer: no serializer"):

        class NoSerializer(ListModelMixin, GenericModelConsumer):  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument, reportUnusedClass]
            queryset = Item.objects.all()


def test_model_consumer_without_a_model_is_refused() -> None:
    """class C(ModelConsumer): pass (no type parameters, queryset or serializer) is an error
    naming the fix, not a consumer answering 405 to everything."""
    with pytest.raises(ImproperlyConfigured) as caught:

        class Nameless(ModelConsumer):  # type: ignore[type-arg]  # pyright: ignore[reportMissingTypeArgument, reportUnusedClass]
            pass

    message = str(caught.value)
    assert "Nameless: no model" in message
    assert "class Nameless(ModelConsumer[Item, ItemSerializer])" in message


def test_generic_base_classes_need_no_model() -> None:
    """A base declared with type variables stays generic; its concrete subclasses serve."""

    class Audited(ModelConsumer[M, S]):
        audited = True

    class AuditedItems(Audited[Item, ItemSerializer]):
        pass

    assert "retrieve" not in Audited.actions
    assert vars(AuditedItems)["model"] is Item
    assert "retrieve" in AuditedItems.actions


def test_lookup_field_that_is_not_a_model_field_is_refused() -> None:
    """lookup_field="nope": ImproperlyConfigured when the class is created, naming it."""
    with pytest.raises(ImproperlyConfigured) as caught:

        class BadLookup(ModelConsumer[Item, ItemSerializer]):  # pyright: ignore[reportUnusedClass]
            lookup_field = "nope"

    message = str(caught.value)
    assert "BadLookup" in message
    assert "lookup_field 'nope' is not a field of Item" in message


@pytest.mark.parametrize("kwarg", ["action", "request_id"])
def test_lookup_argument_named_like_an_envelope_key_is_refused(kwarg: str) -> None:
    """lookup_url_kwarg "action" / "request_id" would collide with the envelope: refused."""
    with pytest.raises(ImproperlyConfigured) as caught:

        class EnvelopeLookup(ReadOnlyModelConsumer[Item, ItemSerializer]):  # pyright: ignore[reportUnusedClass]
            lookup_field = "slug"
            lookup_url_kwarg = kwarg

    message = str(caught.value)
    assert "EnvelopeLookup" in message
    assert f"lookup argument {kwarg!r} is an envelope key" in message


# --- lookups ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_default_lookup_is_an_integer_pk(items: list[Item]) -> None:
    """retrieve {pk}: an int; a numeric string is accepted too, as DCRF clients send it."""
    async with ApiClient(ItemConsumer) as client:
        reply = await ask(client, "retrieve", pk=items[1].pk)
        assert reply == {
            "errors": [],
            "data": item_row(items[1]),
            "action": "retrieve",
            "response_status": 200,
            "request_id": "retrieve",
        }
        by_string = await ask(client, "retrieve", pk=str(items[2].pk))
    assert by_string["data"] == item_row(items[2])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "bad", ["abc", 1.5, None, [1], {"pk": 1}, ""], ids=["text", "float", "null", "list", "obj", ""]
)
async def test_pk_of_the_wrong_type_is_a_400(items: list[Item], bad: JSONValue) -> None:
    """A pk that is not an integer: 400 with DRF's "A valid integer is required." wording."""
    async with ApiClient(ItemConsumer) as client:
        for name in ("retrieve", "delete"):
            assert await ask(client, name, pk=bad) == error_reply(
                400, [{"pk": ["A valid integer is required."]}], name
            )
        reply = await ask(client, "patch", pk=bad, data={"name": "x"})
    assert reply == error_reply(400, [{"pk": ["A valid integer is required."]}], "patch")
    assert await Item.objects.acount() == 3


@pytest.mark.django_db(transaction=True)
async def test_missing_lookup_is_a_400(items: list[Item]) -> None:
    """A lookup action without its lookup argument: 400 "This field is required."."""
    async with ApiClient(ItemConsumer) as client:
        assert await ask(client, "retrieve") == error_reply(
            400, [{"pk": ["This field is required."]}], "retrieve"
        )
        assert await ask(client, "update", data={"name": "x", "slug": "x"}) == error_reply(
            400, [{"pk": ["This field is required."]}], "update"
        )
    async with ApiClient(ItemsByKey) as client:
        assert await ask(client, "delete") == error_reply(
            400, [{"key": ["This field is required."]}], "delete"
        )


@pytest.mark.django_db(transaction=True)
async def test_missing_row_is_a_404(items: list[Item]) -> None:
    """A well-typed lookup naming no row: 404 ["Not found"] (DCRF's text) from every lookup
    action."""
    missing = max(item.pk for item in items) + 100
    async with ApiClient(ItemConsumer) as client:
        for name, arguments in LOOKUP_ACTIONS:
            assert await ask(client, name, pk=missing, **arguments) == error_reply(
                404, NOT_FOUND, name
            )


@pytest.mark.django_db(transaction=True)
async def test_lookup_by_slug(items: list[Item]) -> None:
    """lookup_field="slug": the frame key is "slug"; an integer is taken as a string, as in
    DCRF; a list is refused; unknown slug → 404."""
    async with ApiClient(ItemsBySlug) as client:
        assert (await client.call(ItemsBySlug.retrieve, slug="eggs")).data == item_row(items[1])
        patched = await client.call(ItemsBySlug.patch, slug="tea", data={"done": True})
        assert patched.data == {**item_row(items[2]), "done": True}
        assert await ask(client, "retrieve", slug="coffee") == error_reply(
            404, NOT_FOUND, "retrieve"
        )
        assert await ask(client, "retrieve", slug=5) == not_found("retrieve")  # looked up as "5"
        assert await ask(client, "retrieve", slug=[5]) == error_reply(
            400, [{"slug": ["Not a valid string."]}], "retrieve"
        )
        assert (await client.call(ItemsBySlug.delete, slug="milk")).status == 204
    assert await reload(items[0]) is None


@pytest.mark.django_db(transaction=True)
async def test_lookup_by_uuid_under_another_argument_name(items: list[Item]) -> None:
    """lookup_field="uuid", lookup_url_kwarg="key": the frame key is "key", parsed as a UUID."""
    async with ApiClient(ItemsByKey) as client:
        retrieved = await client.call(ItemsByKey.retrieve, key=items[1].uuid)
        assert retrieved.data == item_row(items[1])
        assert await ask(client, "retrieve", key=str(items[2].uuid).upper()) == {
            "errors": [],
            "data": item_row(items[2]),
            "action": "retrieve",
            "response_status": 200,
            "request_id": "retrieve",
        }
        assert await ask(client, "retrieve", key="not-a-uuid") == error_reply(
            400, [{"key": ["Must be a valid UUID."]}], "retrieve"
        )
        assert await ask(client, "retrieve", uuid=str(items[0].uuid)) == error_reply(
            400, [{"key": ["This field is required."], "uuid": ["Unexpected field."]}], "retrieve"
        )
        assert await ask(client, "retrieve", key=str(uuid.uuid4())) == error_reply(
            404, NOT_FOUND, "retrieve"
        )


@pytest.mark.django_db(transaction=True)
async def test_lookup_by_foreign_key_takes_the_target_type(items: list[Item], bob: User) -> None:
    """lookup_field="owner": the argument is the user's integer pk."""
    async with ApiClient(ItemsByOwner) as client:
        assert (await client.call(ItemsByOwner.retrieve, owner=bob.pk)).data == item_row(items[1])
        assert await ask(client, "retrieve", owner="bob") == error_reply(
            400, [{"owner": ["A valid integer is required."]}], "retrieve"
        )


@pytest.mark.django_db(transaction=True)
async def test_lookup_by_boolean_field(items: list[Item]) -> None:
    """lookup_field="done": the argument is validated as a boolean."""
    async with ApiClient(ItemsByDone) as client:
        assert (await ask(client, "retrieve", done=True))["data"] == item_row(items[1])
        assert await ask(client, "retrieve", done="maybe") == error_reply(
            400, [{"done": ["Must be a valid boolean."]}], "retrieve"
        )


@pytest.mark.django_db(transaction=True)
async def test_async_custom_action_uses_aget_object(alice: User, items: list[Item]) -> None:
    """await self.aget_object(pk=pk), or aget_object() with the action's own pk argument,
    returns the row through get_queryset (bob's item: 404)."""
    async with ApiClient(CustomActions, user=alice) as client:
        renamed = await client.call(CustomActions.rename, pk=items[0].pk, name="Soy milk")
        assert renamed.data == "Soy milk"
        assert await ask(client, "rename", pk=items[1].pk, name="Mine") == error_reply(
            404, NOT_FOUND, "rename"
        )
        assert await ask(client, "rename", pk="x", name="Mine") == error_reply(
            400, [{"pk": ["A valid integer is required."]}], "rename"
        )
        assert (await client.call(CustomActions.name_of, pk=items[0].pk)).data == "Soy milk"
        assert await ask(client, "name_of", pk=items[1].pk) == error_reply(
            404, NOT_FOUND, "name_of"
        )
    assert [(await reload(item) or item).name for item in items[:2]] == ["Soy milk", "Eggs"]


@pytest.mark.django_db(transaction=True)
async def test_sync_custom_action_with_lookup_keywords(alice: User, items: list[Item]) -> None:
    """def touch(self, /, **lookup): its argument is the consumer's lookup (pk, an int) and
    get_object() with no arguments finds the row it names."""
    assert set(CustomActions.actions) == CRUD | {"rename", "name_of", "touch"}
    await Item.objects.acreate(name="Jam", slug="jam", owner=alice)
    async with ApiClient(CustomActions, user=alice) as client:
        assert (await client.call(CustomActions.touch, pk=items[0].pk)).data == items[0].pk
        assert await ask(client, "touch", pk="x") == error_reply(
            400, [{"pk": ["A valid integer is required."]}], "touch"
        )
        assert await ask(client, "touch") == error_reply(
            400, [{"pk": ["This field is required."]}], "touch"
        )
        assert await ask(client, "touch", pk=items[1].pk) == not_found("touch")
    done = [item.slug async for item in Item.objects.filter(done=True).order_by("pk")]
    assert done == ["milk", "eggs"]


@pytest.mark.django_db(transaction=True)
async def test_sync_custom_action_lookup_follows_lookup_url_kwarg(items: list[Item]) -> None:
    """With lookup_url_kwarg="key" on a uuid field, touch takes "key", validated as a UUID."""
    async with ApiClient(ItemsByKey) as client:
        assert (await client.call(ItemsByKey.touch, key=items[2].uuid)).data == items[2].pk
        assert await ask(client, "touch", key="nope") == error_reply(
            400, [{"key": ["Must be a valid UUID."]}], "touch"
        )
        assert await ask(client, "touch", pk=items[0].pk) == error_reply(
            400, [{"key": ["This field is required."], "pk": ["Unexpected field."]}], "touch"
        )
    assert (await reload(items[2]) or items[2]).done is True
    assert (await reload(items[0]) or items[0]).done is False


# --- serializer context -------------------------------------------------------------------

SEEN: list[dict[str, Any]] = []
"""The context of every ContextProbe serializer that rendered an object."""


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    SEEN.clear()


class ContextProbe(ItemSerializer):
    """ItemSerializer recording the context it was given."""

    def to_representation(self, instance: Item) -> dict[str, Any]:
        SEEN.append(dict(self.context))
        return super().to_representation(instance)


class ContextItems(ModelConsumer[Item, ContextProbe]):
    """Serializes through ContextProbe."""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "method"), [("retrieve", "GET"), ("patch", "PATCH")])
async def test_serializer_context(alice: User, items: list[Item], name: str, method: str) -> None:
    """The serializer's context: a DRF request of the scope user with no query parameters,
    the consumer as view and consumer, the scope, and format None."""
    async with ApiClient(ContextItems, user=alice, scope=HOST) as client:
        arguments: dict[str, JSONValue] = {"data": {"done": True}} if name == "patch" else {}
        reply = await ask(client, name, pk=items[0].pk, **arguments)
    assert reply["response_status"] == 200
    [context] = SEEN
    assert set(context) == {"request", "view", "format", "scope", "consumer"}
    request, consumer = context["request"], context["consumer"]
    assert isinstance(request, Request)
    assert isinstance(consumer, ContextItems)
    assert context["view"] is consumer
    assert context["scope"] is consumer.scope
    assert context["format"] is None
    assert request.user == alice
    assert request.user is consumer.user
    assert request.auth is None
    assert dict(request.query_params) == {}
    assert request.method == method
    assert request.get_host() == "testserver"


@pytest.mark.django_db(transaction=True)
async def test_no_drf_request_is_built_when_no_field_reads_it(
    items: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    """retrieve and list through a ModelSerializer whose fields never read the request build
    none: the context's request is built when first read."""
    built: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Request:
        built.append(args[1])
        return drf_request(*args, **kwargs)

    monkeypatch.setattr(generics, "drf_request", counted)
    async with ApiClient(ItemConsumer) as client:
        assert (await client.call(ItemConsumer.retrieve, pk=items[0].pk)).data == item_row(items[0])
        assert len((await client.call(ItemConsumer.list)).data) == len(items)
    assert built == []
    async with ApiClient(LinkedItems, scope=HOST) as client:
        await client.call(LinkedItems.retrieve, pk=items[0].pk)
        await client.call(LinkedItems.list)
    assert built == ["GET", "GET"]  # its hyperlinks read it: once per action


class PushesChanges(ModelConsumer[Item, ItemSerializer]):
    """Pushes items from a channel-layer event handler, serialized as its actions do."""

    async def item_changed(self, event: dict[str, Any]) -> None:
        data = await db.run(self.render, event["pk"])
        await self.send(json.dumps({"changed": data}))

    def render(self, pk: int) -> dict[str, Any]:
        return serialized(self.get_serializer(Item.objects.get(pk=pk)))


def serialized(serializer: serializers.BaseSerializer[Item]) -> dict[str, Any]:
    """``serializer.data`` (read as a BaseSerializer's: DRF's stubs leave Serializer.data's
    ReturnDict unparameterized)."""
    data: dict[str, Any] = serializer.data
    return data


@pytest.mark.django_db(transaction=True)
async def test_get_serializer_works_outside_actions(alice: User, items: list[Item]) -> None:
    """get_serializer() in an event handler (no action running) serializes with the scope's
    request, as DCRF's context-free get_serializer_context allowed; it must not crash the
    connection."""
    async with ApiClient(PushesChanges, user=alice, scope=HOST) as client:
        await client.communicator.send_input({"type": "item.changed", "pk": items[0].pk})
        assert await client.receive() == {"changed": item_row(items[0])}
        assert (await client.call(PushesChanges.retrieve, pk=items[0].pk)).data == item_row(
            items[0]
        )


class OwnedItemSerializer(serializers.ModelSerializer[Item]):
    """The owner is the request's user: a hidden field with DRF's CurrentUserDefault."""

    owner = serializers.HiddenField(default=serializers.CurrentUserDefault())

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Item
        fields = ("id", "name", "slug", "owner")


class OwnedByCurrentUser(ModelConsumer[Item, OwnedItemSerializer]):
    """Creates items owned by the connection's user."""


@pytest.mark.django_db(transaction=True)
async def test_current_user_default_saves_the_connection_user(alice: User, bob: User) -> None:
    """HiddenField(default=CurrentUserDefault()) saves the scope's user; a sent owner is ignored."""
    async with ApiClient(OwnedByCurrentUser, user=alice) as client:
        created = await client.call(
            OwnedByCurrentUser.create, data={"name": "Jam", "slug": "jam", "owner": bob.pk}
        )
    assert created.data == {"id": created.data["id"], "name": "Jam", "slug": "jam"}
    item = await Item.objects.aget(pk=created.data["id"])
    assert item.owner_id == alice.pk


class LinkedItemSerializer(serializers.ModelSerializer[Item]):
    """Item with its absolute URL."""

    # DRF's stubs type a related field's constructor as its single or many form, half unknown.
    url = serializers.HyperlinkedIdentityField(view_name="item-detail")  # pyright: ignore[reportUnknownVariableType]

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Item
        fields = ("id", "url", "name")


class LinkedItems(ModelConsumer[Item, LinkedItemSerializer]):
    """Serializes hyperlinks."""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("scope", "base"),
    [
        (HOST, "http://testserver"),
        ({**HOST, "scheme": "wss"}, "https://testserver"),
        ({"headers": [(b"host", b"testserver:8443")], "scheme": "wss"}, "https://testserver:8443"),
        ({"server": ("testserver", 8000)}, "http://testserver:8000"),
    ],
    ids=["ws-host-header", "wss-host-header", "host-with-port", "server-without-host-header"],
)
async def test_hyperlinked_identity_field_is_absolute(
    items: list[Item], scope: dict[str, object], base: str
) -> None:
    """HyperlinkedIdentityField renders an absolute URL from the handshake's Host header (or
    the scope's server without one), https for wss."""
    async with ApiClient(LinkedItems, scope=scope) as client:
        retrieved = await client.call(LinkedItems.retrieve, pk=items[0].pk)
        listed = await client.call(LinkedItems.list)
    assert retrieved.data == {
        "id": items[0].pk,
        "url": f"{base}/items/{items[0].pk}/",
        "name": "Milk",
    }
    assert [r["url"] for r in listed.data] == [f"{base}/items/{item.pk}/" for item in items]


@pytest.mark.django_db(transaction=True)
async def test_hyperlink_for_a_disallowed_host_is_a_client_error(
    items: list[Item], caplog: pytest.LogCaptureFixture
) -> None:
    """A Host header outside ALLOWED_HOSTS is the client's error (Django answers 400), not a
    500 logged as an unhandled exception; the connection stays open."""
    scope = {"headers": [(b"host", b"evil.example")]}
    async with ApiClient(LinkedItems, scope=scope) as client:
        reply = await ask(client, "retrieve", pk=items[0].pk)
        assert reply["response_status"] == 400
        assert reply["data"] is None
        assert (await client.call(LinkedItems.delete, pk=items[2].pk)).status == 204
    assert not [r for r in caplog.records if r.name == "typed_dcrf"]


class LookupLess(ItemConsumer):
    """An action with no lookup argument that calls get_object() without one."""

    @action()
    def first(self) -> Response[int]:
        """Fails: there is no lookup to use."""
        return Response.ok(self.get_object().pk)


async def test_get_object_without_a_lookup_is_a_500(
    items: list[Item], caplog: pytest.LogCaptureFixture
) -> None:
    """get_object() in an action without a lookup argument is a logged developer error."""
    async with ApiClient(LookupLess) as client:
        assert await ask(client, "first") == error_reply(500, ["A server error occurred."], "first")
    assert "get_object() needs the lookup: get_object(pk=...)" in caplog.text


class BrokenBackend(BaseFilterBackend):
    """A filter backend whose query parameters cannot be read from the consumer class."""

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        raise AttributeError("request")


def test_filter_backend_without_readable_parameters_is_refused() -> None:
    """A backend whose query parameters cannot be read fails when the class is created."""
    with pytest.raises(ImproperlyConfigured, match="cannot read the query parameters of filter"):
        types.new_class(
            "Broken",
            (ModelConsumer[Item, ItemSerializer],),
            exec_body=lambda namespace: namespace.update(filter_backends=(BrokenBackend,)),
        )


def test_the_request_outside_an_action_is_the_connections_get_without_a_query() -> None:
    """As in a channel layer handler: the connection's user and path, a GET, no query."""
    consumer = ItemConsumer()
    user = User(username="ann")
    scope: dict[str, Any] = {"type": "websocket", "path": "/ws/items/", "user": user}
    consumer.scope = cast("Any", scope)  # channels' scope type lists every ASGI key
    request = consumer.request
    assert (request.method, request.path, dict(request.query_params)) == ("GET", "/ws/items/", {})
    assert request.user is user
