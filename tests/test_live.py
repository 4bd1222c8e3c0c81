"""A list subscription's view of its client, event by event: versions drop what the client
has, rows entering and leaving become creates and deletes, and after a resume a row not heard
of is sent all the same; and the test client's checks of the protocol."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from examples.live import Dashboard
from tests.app.consumers import LiveTasks
from tests.app.models import Task
from tests.app.serializers import TaskSerializer
from typed_dcrf import (
    AsyncAPIConsumer,
    ListSubscribed,
    ModelConsumer,
    ObserveListMixin,
    Response,
    action,
)
from typed_dcrf._live import LiveSet
from typed_dcrf.testing import ApiClient, LiveList, UnexpectedReply
from typed_dcrf.types import JSONValue


def test_a_row_enters_changes_and_leaves() -> None:
    """create, then update (not when nothing changed), then delete; later versions only."""
    rows = LiveSet(floor=10)
    assert rows.apply("1", 9, True, 1) is None  # older than the snapshot
    assert rows.apply("1", 11, True, 1) == "create"
    assert rows.apply("1", 12, True, 1) is None  # the same data
    assert rows.apply("1", 13, True, 2) == "update"
    assert rows.apply("1", 12, True, 3) is None  # an older state, come late
    assert rows.apply("1", 14, False, None) == "delete"
    assert rows.apply("1", 13, True, 2) is None  # older than the state that took it out
    assert rows.apply("2", 15, False, None) is None  # never in the set


def test_after_a_resume_rows_not_heard_of_are_sent_anyway() -> None:
    """The server does not know what the client holds: a matching row is an update, one that
    does not match a delete; once heard of, rows are known again."""
    rows = LiveSet(floor=10, knows_all=False)
    assert rows.apply("1", 11, True, 1) == "update"
    assert rows.apply("2", 12, False, None) == "delete"
    assert rows.apply("2", 13, False, None) is None
    assert rows.apply("2", 14, True, 1) == "create"


def test_a_subscription_forgets_old_departures_and_what_is_older(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past LEFT_KEPT rows out of the set, the oldest is forgotten and changes older than it
    are ignored (bounded memory for a long subscription)."""
    monkeypatch.setattr("typed_dcrf._live.LEFT_KEPT", 2)
    rows = LiveSet(floor=0)
    for key, version in (("1", 5), ("2", 6), ("3", 7)):
        rows.apply(key, version, False, None)
    assert list(rows.left) == ["2", "3"]
    assert rows.floor == 5
    assert rows.apply("4", 5, True, 1) is None
    assert rows.apply("4", 8, True, 1) == "create"


def test_a_filter_argument_named_as_a_parameter_is_refused() -> None:
    """filter_list taking `seq`, which subscribe_list takes too: an error naming it."""
    with pytest.raises(ImproperlyConfigured, match="'seq' is a parameter and a keyword"):

        class Clash(  # pyright: ignore[reportUnusedClass]
            ObserveListMixin[Task, TaskSerializer], ModelConsumer[Task, TaskSerializer]
        ):
            def filter_list(
                self, queryset: QuerySet[Task], *, seq: bool | None = None
            ) -> QuerySet[Task]:
                return queryset


class Pushes(AsyncAPIConsumer):
    """Sends the frames a test asks for, as a list subscription's events."""

    @action
    async def push(self, frame: dict[str, JSONValue]) -> Response[None]:
        await self.send_json(frame)
        return Response.no_content()


def event(action: str, data: JSONValue) -> dict[str, JSONValue]:
    status = 204 if action == "delete" else 200
    return {
        "errors": [],
        "data": data,
        "action": action,
        "response_status": status,
        "request_id": "l",
    }


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (event("create", {"id": 1}), "create of row 1, which the copy holds"),
        (event("update", {"id": 2}), "update of row 2, which the copy lacks"),
        (event("delete", {"pk": 2}), "delete of row 2, which the copy lacks"),
        (event("update", [1]), "not an object with 'id'"),
        (event("delete", {"id": 1}), "not an object with 'pk'"),
    ],
    ids=[
        "create of a held row",
        "update of a missing row",
        "delete of a missing row",
        "a list",
        "no pk",
    ],
)
async def test_the_test_client_reports_what_breaks_the_protocol(
    frame: dict[str, JSONValue], problem: str
) -> None:
    """LiveList raises UnexpectedReply for an event its copy contradicts, or data that is not
    the observer's type."""
    async with ApiClient(Pushes) as client:
        reply = ListSubscribed(count=1, seq=0, key="id", resumed=False)
        live: LiveList[Any] = LiveList(
            client, LiveTasks.list_observer, "l", reply, [{"results": [{"id": 1}]}]
        )
        await client.call(Pushes.push, frame=frame)
        with pytest.raises(UnexpectedReply, match=problem):
            await live.next()


async def test_the_test_client_reports_data_not_of_the_observers_type() -> None:
    """An event whose row does not parse into the observer's T is an UnexpectedReply."""
    async with ApiClient(Pushes) as client:
        reply = ListSubscribed(count=0, seq=0, key="id", resumed=False)
        live = LiveList(client, Dashboard.items.observer, "l", reply, [])
        await client.call(Pushes.push, frame=event("create", {"id": 1}))
        with pytest.raises(UnexpectedReply, match="name"):
            await live.next()
