"""What the protocol fuzzer (tests/test_fuzz.py) found, one regression test each: replies that
named the server's classes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.app.fuzzed import FuzzActions
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
