"""Versions and the change log, in this process (the in-memory layer) and in Redis: versions
only grow, also past a restart of their keeper; the log keeps the latest entries in version
order and says when it no longer holds what was asked."""

from __future__ import annotations

from typing import Any

import pytest

from typed_dcrf._changelog import (
    LOG_SECONDS,
    Changelog,
    ClockOnly,
    MemoryChangelog,
    RedisChangelog,
    changelog,
    now_us,
)


@pytest.fixture(params=["memory", "redis"])
def log(request: pytest.FixtureRequest) -> Changelog:
    if request.param == "memory":
        return MemoryChangelog()
    layer: dict[str, Any] = request.getfixturevalue("redis_layer")
    found = changelog()
    assert isinstance(found, RedisChangelog)
    assert layer["BACKEND"].startswith("channels_redis.")
    return found


def entry(version: int) -> dict[str, Any]:
    return {"pk": version, "version": version}


def test_versions_grow_from_the_time_in_microseconds(log: Changelog) -> None:
    """Each version is larger than the last, and no smaller than the time it was taken."""
    before = now_us()
    versions = [log.next_version() for _ in range(50)]
    assert versions == sorted(set(versions))
    assert versions[0] >= before


def test_the_log_keeps_the_latest_entries_in_version_order(log: Changelog) -> None:
    """Entries logged out of order come back by version; past the size, the oldest go, and
    asking from before them is None (the log cannot tell what was missed)."""
    versions = [log.next_version() for _ in range(6)]
    for version in [versions[1], versions[0], *versions[2:]]:
        log.append("list", version, entry(version), size=4)
    assert log.since("list", versions[2]) == [entry(v) for v in versions[3:]]
    assert log.since("list", versions[1]) == [entry(v) for v in versions[2:]]
    assert log.since("list", versions[0]) is None
    log.append("list", versions[1], entry(versions[1]), size=4)  # older than what was dropped
    assert log.since("list", versions[1]) == [entry(v) for v in versions[2:]]


def test_asking_past_the_clock_or_too_long_ago_is_none(log: Changelog) -> None:
    """A version the clock has not reached (another clock's) cannot be resumed from; neither,
    in Redis, can one older than the log's keys live."""
    last = log.next_version()
    assert log.since("list", last) == []
    assert log.since("list", last + 10**9) is None
    if isinstance(log, RedisChangelog):
        assert log.since("list", now_us() - 2 * LOG_SECONDS * 1_000_000) is None


def test_a_redis_clock_that_lost_its_key_starts_past_it(redis_layer: dict[str, Any]) -> None:
    """Redis restarted (the clock's key gone): the next version still exceeds every earlier."""
    found = changelog()
    assert isinstance(found, RedisChangelog)
    earlier = found.next_version()
    found._client.delete(found._prefix + "clock")  # pyright: ignore[reportPrivateUsage]
    assert found.next_version() > earlier


def test_another_layer_has_a_clock_and_no_log() -> None:
    """A layer other than Redis and the in-memory one: versions, but no resuming."""
    clock = ClockOnly()
    version = clock.next_version()
    clock.append("list", version, entry(version), size=10)
    assert clock.since("list", 0) is None
    assert clock.next_version() > version


def test_the_layer_setting_picks_the_changelog(settings: Any) -> None:
    """The default layer's backend decides; a change of CHANNEL_LAYERS is followed."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert isinstance(changelog(), MemoryChangelog)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "some.other.Layer"}}
    assert type(changelog()) is ClockOnly
