"""Property: whatever creates, updates and deletes happen, made by several connections and by
plain ORM code, each list subscription's copy equals a fresh ``list`` with its arguments after
every change (hypothesis, a fixed budget)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.app.consumers import LiveTasks
from tests.app.models import Task
from typed_dcrf import db
from typed_dcrf.testing import ApiClient, LiveList

pytestmark = pytest.mark.django_db(transaction=True)

FILTERS: list[dict[str, Any]] = [
    {},
    {"done": True},
    {"min_rank": 3},
    {"done": False, "min_rank": 1},
    {"title_has": "a"},  # decided by the database
]
TITLES = st.sampled_from(["a", "b", "ab", "ba", "c"])
FIELDS = st.fixed_dictionaries(
    {},
    optional={"title": TITLES, "done": st.booleans(), "rank": st.integers(0, 5)},
)
CHANGES = st.lists(
    st.tuples(
        st.sampled_from([None, 0, 1]),
        st.sampled_from(["create", "update", "delete"]),
        st.integers(0, 7),
        FIELDS,
    ),
    min_size=1,
    max_size=8,
)
QUIET = 0.05
"""Seconds without an event after which a subscription's copy is compared."""
PATIENCE = 3.0
"""Seconds a copy may take to equal a fresh list."""


Change = tuple[int | None, str, int, dict[str, Any]]
"""Who makes it (``None``: plain ORM code; else a connection), what, which row, which fields."""


async def apply(change: Change, clients: list[ApiClient]) -> None:
    """Make one change, through a connection's actions or with the ORM."""
    who, kind, index, fields = change
    pks = await db.run(lambda: list(Task.objects.order_by("pk").values_list("pk", flat=True)))
    if kind == "create" or not pks:
        data = {"title": "a", **fields}
        if who is None:
            await db.run(Task.objects.create, **data)
        else:
            await clients[who].call(LiveTasks.create, data=data)
        return
    pk = pks[index % len(pks)]
    if who is None:
        if kind == "delete":
            await db.run(Task.objects.filter(pk=pk).delete)
        else:
            task = await db.run(Task.objects.get, pk=pk)
            for name, value in fields.items():
                setattr(task, name, value)
            await db.run(task.save)
    elif kind == "delete":
        await clients[who].call(LiveTasks.delete, pk=pk)
    else:
        await clients[who].call(LiveTasks.patch, pk=pk, data=fields)


async def caught_up(live: LiveList[Any], client: ApiClient, filters: dict[str, Any]) -> None:
    """Apply the subscription's events until its copy equals a fresh list (an event whose
    match the database decides may come after others): within ``PATIENCE`` seconds."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while True:
        await live.settle(QUIET)
        fresh = await client.call(LiveTasks.list, **filters)
        expected = {row["id"]: dict(row) for row in fresh.data}
        held = {pk: dict(row) for pk, row in live.rows.items()}
        if held == expected or asyncio.get_running_loop().time() > deadline:
            assert held == expected, filters
            return


async def all_caught_up(
    client: ApiClient, lives: list[tuple[LiveList[Any], ApiClient, dict[str, Any]]]
) -> None:
    """Each subscription of ``client``, one after the other."""
    for live, owner, filters in lives:
        if owner is client:
            await caught_up(live, owner, filters)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(changes=CHANGES)
async def test_every_copy_equals_a_fresh_list_after_every_change(
    changes: list[Change],
) -> None:
    """Random sequences of changes from two connections and from ORM code: after each, every
    subscription (filters matched in memory and by the database) holds what list answers."""
    await db.run(Task.objects.all().delete)
    await db.run(Task.objects.create, title="ab", rank=3)
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(ApiClient(LiveTasks)) for _ in range(2)]
        lives = [
            (
                await clients[n % 2].subscribe_list(
                    LiveTasks.list_observer, LiveTasks.subscribe_list, **filters
                ),
                clients[n % 2],
                filters,
            )
            for n, filters in enumerate(FILTERS)
        ]
        for change in changes:
            await apply(change, clients)
            # One reader per client at a time (two would take each other's frames).
            await asyncio.gather(*(all_caught_up(client, lives) for client in clients))
