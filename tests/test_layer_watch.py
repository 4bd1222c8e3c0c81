"""The watch of a Redis channel layer, against Redis clients of the test's own: what it checks,
what it ends and when, how members join and leave it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pytest
import redis.exceptions

from typed_dcrf import _layer_watch
from typed_dcrf._layer_watch import LayerWatch

INTERVAL = 0.01


class FakeRedis:
    """The two commands of redis-py's client that the watch uses, on a dict; ``failures``
    are raised by the next ``expire`` calls, one each."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.checks = 0
        self.checked = asyncio.Event()
        self.failures: list[Exception] = []

    async def set(self, key: str, value: str, *, ex: int) -> None:
        self.keys[key] = value

    async def expire(self, key: str, seconds: int) -> bool:
        self.checks += 1
        self.checked.set()
        if self.failures:
            raise self.failures.pop(0)
        return key in self.keys

    async def checks_made(self, count: int) -> None:
        """Wait until ``count`` checks were made in all."""
        async with asyncio.timeout(10):
            while self.checks < count:
                self.checked.clear()
                await self.checked.wait()


class FakeLayer:
    """Looks like channels-redis's layer to the watch: one host."""

    ring_size = 1

    def __init__(self) -> None:
        self.client = FakeRedis()

    def connection(self, index: int) -> FakeRedis:
        return self.client


class Member:
    """A connection's subscriptions: counts the times they were ended."""

    def __init__(self) -> None:
        self.interrupted = 0
        self.ended = asyncio.Event()

    async def interrupt(self) -> None:
        self.interrupted += 1
        self.ended.set()

    async def ended_again(self) -> None:
        async with asyncio.timeout(10):
            await self.ended.wait()
        self.ended.clear()


class Failing(Member):
    async def interrupt(self) -> None:
        await super().interrupt()
        raise RuntimeError("its connection is gone")


def watched(*members: Member) -> tuple[FakeRedis, LayerWatch, asyncio.Task[None]]:
    client = FakeRedis()
    watch = LayerWatch([client], INTERVAL, "prefix:typed_dcrf.watch.test")
    client.keys[watch.marker] = "1"
    watch.members.update(members)
    return client, watch, asyncio.create_task(watch.run())


async def stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_marker_still_there_ends_nothing() -> None:
    """Check after check, Redis kept the marker: no subscription is ended."""
    member = Member()
    client, _, task = watched(member)
    await client.checks_made(3)
    assert not task.done()
    assert member.interrupted == 0
    await stopped(task)


async def test_a_redis_unreachable_for_several_checks_is_one_warning_and_one_ending(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis cannot be reached for two checks (each tried twice), then is back with the
    marker: one warning for the time it was away, and the subscriptions end once."""
    member = Member()
    client, _, task = watched(member)
    client.failures = [redis.exceptions.ConnectionError("refused") for _ in range(4)]
    with caplog.at_level(logging.WARNING, logger="typed_dcrf"):
        await member.ended_again()
    await client.checks_made(6)  # the watch went on after ending them
    assert member.interrupted == 1
    assert [record.getMessage().split(":")[0] for record in caplog.records] == [
        "The channel layer cannot be reached, or refused a check",
        "The channel layer restarted or was unreachable",
    ]
    await stopped(task)


async def test_a_connection_failing_to_end_its_subscriptions_ends_no_one_elses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One member's ``interrupt`` raises: it is logged, the other member's subscriptions end
    all the same, and the watch goes on, ending both again at the next restart."""
    failing, member = Failing(), Member()
    client, watch, task = watched(failing, member)
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        client.keys.clear()  # Redis restarted, empty
        await member.ended_again()
        checks = client.checks
        await client.checks_made(checks + 1)
        assert not task.done()
        client.keys.clear()
        await member.ended_again()
    assert (failing.interrupted, member.interrupted) == (2, 2)
    assert watch.members == {failing, member}
    failed = [r for r in caplog.records if r.getMessage().startswith("Ending the subscriptions")]
    assert len(failed) == 2
    assert all(r.exc_info is not None and r.exc_info[0] is RuntimeError for r in failed)
    await stopped(task)


def watches() -> Mapping[object, LayerWatch]:
    found = _layer_watch._watches.get(asyncio.get_running_loop())  # pyright: ignore[reportPrivateUsage]
    return {} if found is None else found


async def test_members_share_the_watch_of_a_layer_until_the_last_leaves(settings: Any) -> None:
    settings.TYPED_DCRF = {"LAYER_CHECK_SECONDS": INTERVAL}
    layer, first, second = FakeLayer(), Member(), Member()
    await _layer_watch.join(first, layer)
    await _layer_watch.join(second, layer)
    watch = watches()[layer]
    assert watch.members == {first, second}
    assert len(layer.client.keys) == 1  # one marker, set once
    task = watch.task
    assert task is not None
    _layer_watch.leave(first, layer)
    assert watches()[layer] is watch
    assert watch.members == {second}
    await layer.client.checks_made(layer.client.checks + 1)
    assert not task.done()
    _layer_watch.leave(second, layer)
    assert layer not in watches()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_a_member_waiting_for_a_watch_its_last_member_left_joins_a_new_one(
    settings: Any,
) -> None:
    """The second member waits for the first marking; the first member joins and leaves before
    the second goes on: the watch is over, the second starts one of its own."""
    settings.TYPED_DCRF = {"LAYER_CHECK_SECONDS": INTERVAL}
    layer, first, second = FakeLayer(), Member(), Member()

    async def join_and_leave() -> LayerWatch:
        await _layer_watch.join(first, layer)
        left = watches()[layer]
        _layer_watch.leave(first, layer)  # before the second member runs again
        return left

    leaving = asyncio.create_task(join_and_leave())
    joining = asyncio.create_task(_layer_watch.join(second, layer))
    left = await leaving
    await joining
    watch = watches()[layer]
    assert watch is not left
    assert watch.members == {second}
    assert watch.task is not None
    assert not watch.task.done()
    assert len(layer.client.keys) == 2  # a marker of each watch
    _layer_watch.leave(second, layer)


async def test_leaving_from_a_thread_without_an_event_loop_changes_no_watch(
    settings: Any,
) -> None:
    """A member left outside any event loop (from a sync thread): the watches of the loops
    stay as they are."""
    settings.TYPED_DCRF = {"LAYER_CHECK_SECONDS": INTERVAL}
    layer, member = FakeLayer(), Member()
    await _layer_watch.join(member, layer)
    await asyncio.to_thread(_layer_watch.leave, member, layer)
    assert watches()[layer].members == {member}
    _layer_watch.leave(member, layer)
    assert layer not in watches()
