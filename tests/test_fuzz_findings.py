"""What the protocol fuzzer (tests/test_fuzz.py) found, one regression test each: replies that
named the server's classes, NUL characters that failed queries on PostgreSQL (a 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from pydantic import TypeAdapter, ValidationError

from tests.app.fuzzed import FuzzActions, FuzzItems, FuzzItemsByName, FuzzItemsBySlug
from tests.app.models import Item
from typed_dcrf import AsyncAPIConsumer, db
from typed_dcrf._lookups import without_null_characters
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject, JSONValue

NOT_A_DICT = "Invalid data. Expected a dictionary, but got {}."


@pytest.fixture
async def actions() -> AsyncIterator[ApiClient]:
    async with ApiClient(FuzzActions) as client:
        yield client


def refused(action: str, request_id: int, errors: JSONValue) -> JSONObject:
    """A 400 reply to ``action``."""
    return {
        "errors": [errors],
        "data": None,
        "action": action,
        "response_status": 400,
        "request_id": request_id,
    }


@pytest.mark.parametrize(
    ("arguments", "errors"),
    [
        ({"address": "x"}, {"address": [NOT_A_DICT.format("str")]}),
        ({"address": [1]}, {"address": [NOT_A_DICT.format("list")]}),
        (
            {"address": {"street": 3, "zip": "1"}},
            {"address": {"street": [NOT_A_DICT.format("int")]}},
        ),
    ],
    ids=["dataclass-str", "dataclass-list", "nested-dataclass-int"],
)
async def test_a_dataclass_argument_given_no_object_is_drfs_error(
    actions: ApiClient, arguments: JSONObject, errors: JSONValue
) -> None:
    """A dataclass argument given something other than an object is answered in DRF's words,
    not pydantic's, which named the server's class ("an instance of FuzzAddress")."""
    await actions.send({"action": "ship", "request_id": 1, **arguments})
    assert await actions.receive() == refused("ship", 1, errors)


@pytest.mark.parametrize(
    ("person", "errors"),
    [
        ("x", [NOT_A_DICT.format("str")]),
        (1.5, [NOT_A_DICT.format("float")]),
        ({"name": "a", "age": 1, "address": True}, {"address": [NOT_A_DICT.format("bool")]}),
    ],
    ids=["model-str", "model-float", "dataclass-in-model-bool"],
)
async def test_a_model_argument_given_no_object_is_drfs_error(
    actions: ApiClient, person: JSONValue, errors: JSONValue
) -> None:
    """The same for a pydantic model argument, and for a dataclass inside one."""
    await actions.send({"action": "register", "request_id": 2, "person": person})
    assert await actions.receive() == refused("register", 2, {"person": errors})


def seed_items() -> None:
    Item.objects.create(name="Milk", slug="milk")


NULL = "Null characters are not allowed."


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("consumer", "key", "value", "found"),
    [
        (FuzzItemsBySlug, "slug", "milk\x00", "milk"),
        (FuzzItemsBySlug, "slug", "\x00", "milk"),
        (FuzzItemsByName, "item_name", "Milk\x00", "Milk"),
    ],
    ids=["slug", "slug-nul-alone", "char-field"],
)
async def test_a_null_character_in_a_string_lookup_is_a_400(
    consumer: type[AsyncAPIConsumer], key: str, value: str, found: str
) -> None:
    """A NUL in a string lookup is refused in DRF's CharField's words (on PostgreSQL the
    query failed: a 500); the same lookup without it finds the row."""
    await db.run(seed_items)
    async with ApiClient(consumer) as client:
        await client.send({"action": "retrieve", "request_id": 3, key: value})
        assert await client.receive() == refused("retrieve", 3, {key: [NULL]})
        await client.send({"action": "retrieve", "request_id": 4, key: found})
        assert (await client.receive())["response_status"] == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name_has", ["\x00", "Mi\x00lk"])
async def test_a_null_character_in_a_typed_filter_argument_is_a_400(name_has: str) -> None:
    """A ``str`` argument of ``filter_list`` holding NUL is refused, as DRF's query filters
    refuse it (on PostgreSQL the filtered query failed: a 500)."""
    await db.run(seed_items)
    async with ApiClient(FuzzItems) as client:
        await client.send({"action": "list", "request_id": 5, "name_has": name_has})
        assert await client.receive() == refused("list", 5, {"name_has": [NULL]})
        await client.send({"action": "list", "request_id": 6, "name_has": "Mi"})
        reply = await client.receive()
        assert reply["response_status"] == 200
        assert isinstance(reply["data"], list)
        assert len(reply["data"]) == 1


@pytest.mark.parametrize(
    "value",
    [{"a": ["b\x00"]}, {"a\x00": []}, {"a": ["b", "\x00"]}],
    ids=["in-a-list", "in-a-key", "second-item"],
)
def test_filter_arguments_refuse_null_characters_at_any_depth(value: object) -> None:
    """A filter argument's strings are checked wherever they are: in lists and dict keys."""
    adapter = TypeAdapter[object](cast("Any", without_null_characters(dict[str, list[str]])))
    assert adapter.validate_python({"a": ["b"]}) == {"a": ["b"]}
    with pytest.raises(ValidationError, match="Null characters are not allowed"):
        adapter.validate_python(value)
