"""How events are sent: from code that reached the database without ``db.run``, to a layer
that cannot be reached, to members of a group that are not typed_dcrf's subscriptions; and
which changes are no event at all."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
import redis.exceptions
from asgiref.sync import sync_to_async
from channels.layers import BaseChannelLayer, InMemoryChannelLayer
from django.contrib.auth.models import User

from tests.app.consumers import ObservedItems
from tests.app.models import Item, Specimen
from typed_dcrf import _events, db
from typed_dcrf._changelog import changelog
from typed_dcrf.observers import ModelObserver
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONValue


def rename(pk: int, name: str) -> None:
    item = Item.objects.get(pk=pk)
    item.name = name
    item.save()


@pytest.mark.django_db(transaction=True)
async def test_a_save_through_plain_sync_to_async_after_db_run_sends_its_event() -> None:
    """The task used ``db.run`` first (its calls into the database thread are known), then
    saves with asgiref's ``sync_to_async``: the event is sent on the task's loop all the same,
    without the save waiting for it."""
    item = await db.run(Item.objects.create, name="milk", slug="milk")
    async with ApiClient(ObservedItems) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        await sync_to_async(rename)(item.pk, "oat milk")
        event = await subscription.next()
        assert event.data is not None
        assert event.data["name"] == "oat milk"


class PartlyReachable(BaseChannelLayer):
    """A layer whose Redis cannot be reached for the group ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if group == "down":
            raise redis.exceptions.ConnectionError("Connection refused")
        self.sent.append((group, message))


async def test_an_event_the_layer_cannot_take_is_logged_and_holds_back_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = PartlyReachable()
    messages: list[dict[str, JSONValue]] = [
        {"type": _events.EVENT, "group": group, "pk": 1} for group in ("up", "down", "also")
    ]
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        await _events._send_all(layer, list(messages))  # pyright: ignore[reportPrivateUsage]
    assert [group for group, _ in layer.sent] == ["up", "also"]
    [record] = caplog.records
    assert record.getMessage().startswith("Sending an event to the group 'down' failed: ")


async def test_a_full_channel_that_is_no_subscription_misses_the_event_alone() -> None:
    """A plain channels consumer in the group, its channel full: it misses the event (as with
    channels' own ``group_send``), nothing else happens, and the group's other member gets it."""
    layer = InMemoryChannelLayer(capacity=1)
    full, other = await layer.new_channel(), await layer.new_channel()
    for channel in (full, other):
        await layer.group_add("plain", channel)
    await layer.send(full, {"type": "earlier"})
    message: dict[str, JSONValue] = {"type": _events.EVENT, "group": "plain", "pk": 1}
    await _events._send_all(layer, [message])  # pyright: ignore[reportPrivateUsage]
    assert await layer.receive(other) == message
    assert await layer.receive(full) == {"type": "earlier"}
    assert set(layer.groups["plain"]) == {full, other}


def specimen_observer(name: str, **options: Any) -> ModelObserver[Specimen, int]:
    """An observer of ``Specimen``, which nothing else observes: it observes as long as it
    lives."""
    return ModelObserver[Specimen, int](
        Specimen,
        f"tests.event_sends.{name}",
        serialize=lambda specimen: specimen.pk,
        data_type=int,
        **options,
    )


@pytest.fixture
def observer_of() -> Iterator[Callable[..., ModelObserver[Specimen, int]]]:
    """Observers of ``Specimen`` kept for the test, gone after."""
    made: list[ModelObserver[Specimen, int]] = []

    def make(name: str, **options: Any) -> ModelObserver[Specimen, int]:
        made.append(specimen_observer(name, **options))
        return made[-1]

    yield make
    made.clear()
    gc.collect()


@pytest.mark.django_db  # in a transaction: the callbacks wait for its commit, counted
def test_a_many_to_many_change_is_no_event_for_observers_that_ignore_them(
    observer_of: Callable[..., ModelObserver[Specimen, int]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The observer that watched the many-to-many fields is gone; the one left does not
    watch them: adding a watcher is no event, while a save still is (observers of earlier tests
    may live on until a collection: only this one's is looked for)."""
    rows = observer_of("rows")
    watching = specimen_observer("watchers", many_to_many=True)  # connects m2m_changed
    del watching
    gc.collect()
    user = User.objects.create(username="ann")
    with django_capture_on_commit_callbacks() as saved:
        specimen = Specimen.objects.create(name="a")
    with django_capture_on_commit_callbacks() as added:
        specimen.watchers.add(user)
    assert rows in [callback.args[0] for callback in saved if isinstance(callback, partial)]
    assert added == []


@pytest.mark.django_db(transaction=True)
def test_a_change_outside_the_list_group_is_not_logged(
    observer_of: Callable[..., ModelObserver[Specimen, int]],
) -> None:
    """A versioned observer whose ``groups`` hook leaves its list group out: its changes are
    sent (with a version) but not kept in the log that list subscriptions resume from; one
    whose hook names it, is."""

    def its_own(specimen: Specimen) -> list[str]:
        return [f"tests.event_sends.elsewhere.{specimen.pk}"]

    def the_list(specimen: Specimen) -> list[str]:
        return [listed.list_group(None)]

    elsewhere = observer_of("elsewhere", versioned=True, log_size=10, groups=its_own)
    listed = observer_of("listed", versioned=True, log_size=10, groups=the_list)
    for observer in (elsewhere, listed):
        observer.idle_until = time.monotonic() + 60  # the log is kept while nobody listens
        changelog().keep(observer.list_group(None))
    before = changelog().next_version()
    specimen = Specimen.objects.create(name="a")
    assert changelog().since(elsewhere.list_group(None), before) == []
    [entry] = changelog().since(listed.list_group(None), before) or []
    assert (entry["action"], entry["pk"]) == ("create", specimen.pk)


@pytest.mark.django_db
def test_an_observer_without_a_groups_hook_sends_to_the_rows_own_group(
    observer_of: Callable[..., ModelObserver[Specimen, int]],
) -> None:
    observer = observer_of("own")
    specimen = Specimen.objects.create(name="a")
    assert observer.groups_of(specimen) == [observer.instance_group(specimen.pk, "default")]
