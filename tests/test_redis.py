"""Events over the Redis channel layer: a save made by another process (the Django shell)
reaches a subscriber here, and subscriptions outlive the layer's group expiry."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from typing import Any

import pytest
from django.db import connection

from tests.app.consumers import ObservedItems
from tests.app.models import Item
from tests.server.process import ROOT, unmeasured_environment
from typed_dcrf import db
from typed_dcrf.testing import ApiClient, Event, Subscribed

pytestmark = pytest.mark.django_db(transaction=True)


def shell(command: str, layer: dict[str, Any]) -> None:
    """Run ``command`` in ``manage.py shell`` of the test project, in a process of its own,
    on this test's database and Redis layer."""
    environment = {
        **unmeasured_environment(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TEST_LAYER": "redis",
        "TYPED_DCRF_REDIS_PREFIX": layer["CONFIG"]["prefix"],
        "TYPED_DCRF_DB_NAME": str(connection.settings_dict["NAME"]),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-m", "django", "shell", "-c", command],
        cwd=ROOT,
        env=environment,
        check=True,
        timeout=60,
        capture_output=True,
    )


async def the_update(subscription: Subscribed[Any]) -> Event[Any]:
    """The subscription's next update: the row's create, sent by the save that made it, may
    reach the layer after the subscription joined its group (sends do not hold up the save)."""
    while (event := await subscription.next()).action != "update":
        pass
    return event


@pytest.mark.skipif(
    os.environ.get("TEST_DB") != "postgres",
    reason="runs in the PostgreSQL pass: the shell's process needs the test's database",
)
async def test_a_save_in_another_process_reaches_a_subscriber(redis_layer: dict[str, Any]) -> None:
    """The shell imports no consumer module itself: typed_dcrf's app imports the installed
    apps' consumers at start-up, so the shell's save is an event for the subscriber here."""
    item = await db.run(Item.objects.create, name="milk", slug="milk")
    async with ApiClient(ObservedItems, timeout=10) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        command = (
            "from tests.app.models import Item; "
            f"item = Item.objects.get(pk={item.pk}); item.name = 'from the shell'; item.save()"
        )
        await asyncio.to_thread(shell, command, redis_layer)
        event = await the_update(subscription)
    assert event.data is not None
    assert event.data["name"] == "from the shell"


async def test_subscriptions_outlive_the_layers_group_expiry(
    redis_layer: dict[str, Any], settings: Any
) -> None:
    """channels-redis forgets a group membership after group_expiry: a subscription joins its
    group again before that, so it still hears of changes after sitting idle longer."""
    redis_layer["CONFIG"]["group_expiry"] = 2
    settings.CHANNEL_LAYERS = {"default": redis_layer}
    item = await db.run(Item.objects.create, name="milk", slug="milk")
    async with ApiClient(ObservedItems) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        await asyncio.sleep(3)
        item.name = "after the expiry"
        await db.run(item.save)
        event = await the_update(subscription)
    assert event.data is not None
    assert event.data["name"] == "after the expiry"


def save_in_a_thread_of_its_own(item: Item) -> None:
    """As a worker's thread does: no event loop, and not called from one."""

    def save() -> None:
        try:
            item.save()
        finally:
            connection.close()

    worker = threading.Thread(target=save)
    worker.start()
    worker.join(timeout=30)


async def test_a_save_in_a_thread_without_an_event_loop_reaches_a_subscriber(
    redis_layer: dict[str, Any],
) -> None:
    """A thread with no loop (a worker's, a command's) sends on a loop of its own."""
    item = await db.run(Item.objects.create, name="milk", slug="milk")
    async with ApiClient(ObservedItems, timeout=10) as client:
        subscription = await client.subscribe(
            ObservedItems.instance_observer, ObservedItems.subscribe_instance, pk=item.pk
        )
        item.name = "from a worker thread"
        await asyncio.to_thread(save_in_a_thread_of_its_own, item)
        event = await the_update(subscription)
    assert event.data is not None
    assert event.data["name"] == "from a worker thread"
