"""typed_dcrf.breaking and ``manage.py asyncapi_diff``: the changes of a consumer that break its
clients, found between the AsyncAPI documents of two versions of it."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from django.core.management import CommandError, call_command
from pydantic import Field

from tests.app.consumers import LiveTasks
from typed_dcrf import AsyncAPIConsumer, Demultiplexer, Response, action
from typed_dcrf.breaking import breaking_changes
from typed_dcrf.schema import asyncapi_document


class Before(AsyncAPIConsumer):
    @action
    async def greet(self, name: str, times: int | str = 1, tone: str = "warm") -> Response[str]:
        return Response.ok(name)

    @action
    async def mood(
        self, mood: Literal["calm", "happy", "sad"] = "calm", note: list[str] | Any = None
    ) -> Response[str]:
        return Response.ok(mood)

    @action
    async def shout(self, name: str, volume: int = 5) -> Response[str]:
        return Response.ok(name)

    @action
    async def bye(self) -> Response[None]:
        return Response.no_content()


class After(AsyncAPIConsumer):
    @action(name="greet")
    async def greet_briefly(
        self, name: Annotated[str, Field(max_length=10)], times: int, loud: bool
    ) -> Response[str]:
        return Response.ok(name)

    @action
    async def shout(
        self, name: str, volume: Annotated[int, Field(ge=1, le=3)] = 2, pitch: int = 0
    ) -> Response[str]:
        return Response.ok(name)

    @action
    async def mood(
        self, mood: Literal["calm", "happy"] = "calm", note: list[str] | None = None
    ) -> Response[str]:
        return Response.ok(mood)

    @action
    async def wave(self) -> Response[None]:  # a new action breaks nobody
        return Response.no_content()


def document(consumer: type[AsyncAPIConsumer], *, stream: bool = False) -> dict[str, Any]:
    if stream:
        served = type("Streams", (Demultiplexer,), {"streams": {"chat": consumer}})
        return asyncapi_document({"/ws/": served}, title="chat")
    return asyncapi_document({"/ws/": consumer}, title="chat")


EXPECTED = [
    "ws.greet: argument 'times' no longer accepts string",
    "ws.greet: argument 'tone' was removed",
    "ws.greet: argument 'name' has maxLength 10",
    "ws.greet: argument 'loud' was added without a default",
    "ws.greet: argument 'times' is now required",
    "ws.shout: argument 'volume' has maximum 3",
    "ws.shout: argument 'volume' has minimum 1",
    "ws.mood: argument 'mood' accepts only ['calm', 'happy']",
    "ws.mood: argument 'note' no longer accepts anything but array, null",
    "ws.bye: the action was removed",
]


def test_the_changes_that_break_clients_are_named() -> None:
    assert sorted(breaking_changes(document(Before), document(After))) == sorted(EXPECTED)


def test_what_breaks_nobody_is_not_a_change() -> None:
    """The same document, and one that only adds an action or an optional argument."""
    assert breaking_changes(document(Before), document(Before)) == []
    assert breaking_changes(document(After), document(After)) == []
    live = asyncapi_document({"/ws/tasks/": LiveTasks}, title="tasks")  # events: not actions
    assert breaking_changes(live, live) == []
    assert breaking_changes(document(Before), document(Before, stream=True)) == [
        f"ws.{name}: the action was removed" for name in ("bye", "greet", "mood", "shout")
    ]


def test_a_streams_arguments_are_compared_inside_its_wrapping() -> None:
    changes = breaking_changes(document(Before, stream=True), document(After, stream=True))
    assert sorted(changes) == sorted(c.replace("ws.", "ws.chat.", 1) for c in EXPECTED)


def test_the_command_prints_the_changes_and_fails(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.yaml"
    old.write_text(json.dumps(document(Before)))
    new.write_text(json.dumps(document(After)))  # JSON is a YAML document too
    out = io.StringIO()
    with pytest.raises(CommandError, match="10 breaking change"):
        call_command("asyncapi_diff", str(old), str(new), stdout=out)
    assert sorted(out.getvalue().splitlines()) == sorted(EXPECTED)
    unchanged = io.StringIO()
    call_command("asyncapi_diff", str(old), str(old), stdout=unchanged)
    assert unchanged.getvalue() == "No breaking changes.\n"


def test_a_list_of_types_that_loses_one_is_narrowed() -> None:
    before, after = document(Before), document(Before)
    for version, types in ((before, ["string", "null"]), (after, "string")):
        greet = version["channels"]["ws"]["messages"]["greet_request"]["payload"]
        greet["properties"]["tone"] = {"type": types}
    assert breaking_changes(before, after) == ["ws.greet: argument 'tone' no longer accepts null"]


def test_reading_yaml_without_pyyaml_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old.yaml"
    old.write_text(json.dumps(document(Before)))
    monkeypatch.setitem(sys.modules, "yaml", None)  # PyYAML not installed
    with pytest.raises(CommandError, match="pip install pyyaml"):
        call_command("asyncapi_diff", str(old), str(old))
