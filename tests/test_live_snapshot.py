"""How far a list subscription's snapshot has read: which changes that come meanwhile the
client will get in the snapshot, and which it must get as events."""

from __future__ import annotations

import pytest

from tests.app.models import Task
from typed_dcrf._live import READ_ALL, LiveQuery


def live_query() -> LiveQuery:
    return LiveQuery(Task.objects.all(), None, "tasks", seq=False)


def test_nothing_is_passed_before_the_first_page() -> None:
    assert not live_query().passed(1)


@pytest.mark.parametrize(("pk", "passed"), [(3, True), (5, True), (7, False), ("5", False)])
def test_integer_keys_up_to_the_last_read_are_passed(pk: object, passed: bool) -> None:
    """Integer keys, whose order Python and SQL agree on: up to the last page's last key; a
    key of another type is not known to be passed."""
    live = live_query()
    live.read_through = 5
    assert live.passed(pk) is passed


@pytest.mark.parametrize("pk", [1, 10**9, "a-uuid-or-a-slug"])
def test_every_key_is_passed_once_the_snapshot_is_read(pk: object) -> None:
    live = live_query()
    live.read_through = READ_ALL
    assert live.passed(pk)
