"""Versions and the change log, in this process (the in-memory layer) and in Redis: versions
only grow, also past a restart of their keeper; the log keeps the latest entries in version
order and says when it no longer holds what was asked."""

from __future__ import annotations

from typing import Any

import pytest

from typed_dcrf._changelog import (
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
    asking from before them is None (the log cannot tell what was missed); an overlap reads
    further back, as far as the log holds."""
    log.keep("list")
    versions = [log.next_version() for _ in range(6)]
    for version in [versions[1], versions[0], *versions[2:]]:
        log.append("list", version, entry(version), size=4)
    assert log.since("list", versions[2]) == [entry(v) for v in versions[3:]]
    assert log.since("list", versions[1]) == [entry(v) for v in versions[2:]]
    assert log.since("list", versions[0]) is None
    overlap = versions[3] - versions[1]
    assert log.since("list", versions[3], overlap) == [entry(v) for v in versions[2:]]
    log.append("list", versions[1], entry(versions[1]), size=4)  # older than what was dropped
    assert log.since("list", versions[1]) == [entry(v) for v in versions[2:]]


def test_a_log_holds_nothing_from_before_it_was_kept(log: Changelog) -> None:
    """A log not kept answers None; once kept, it holds what comes after, not before; asking
    past the clock (another clock's version) is None."""
    before = log.next_version()
    assert log.since("fresh", before) is None
    log.keep("fresh")
    assert log.since("fresh", before) is None
    last = log.next_version()
    assert log.since("fresh", last) == []
    assert log.since("fresh", last + 10**9) is None


def test_a_log_whose_marks_are_gone_holds_nothing(log: Changelog) -> None:
    """Forgotten (in memory: nobody listened, changes went unlogged) or expired (in Redis: its
    keys gone, or Redis restarted): None, then the client subscribes again."""
    log.keep("list")
    version = log.next_version()
    log.append("list", version, entry(version), size=4)
    if isinstance(log, RedisChangelog):
        log._client.delete(log._prefix + "log:list")  # pyright: ignore[reportPrivateUsage]
    else:
        log.forget("list")
    assert log.since("list", version - 1) is None


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
    clock.keep("list")
    clock.append("list", version, entry(version), size=10)
    assert clock.since("list", version - 1) is None
    clock.forget("list")
    assert clock.next_version() > version


def test_the_layer_setting_picks_the_changelog(settings: Any) -> None:
    """The default layer's backend decides; a change of CHANNEL_LAYERS is followed."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert isinstance(changelog(), MemoryChangelog)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "some.other.Layer"}}
    assert type(changelog()) is ClockOnly


def test_redis_hosts_as_options_and_a_forgotten_log(redis_layer: dict[str, Any]) -> None:
    """A host given as options (not an address) works too; forgetting a Redis log changes
    nothing: every process logs every change."""
    prefix = redis_layer["CONFIG"]["prefix"]
    log = RedisChangelog({"host": "127.0.0.1", "port": 6379}, prefix)
    log.keep("list")
    version = log.next_version()
    log.append("list", version, entry(version), size=4)
    log.forget("list")
    assert log.since("list", version - 1) == [entry(version)]


def test_other_settings_keep_the_changelog(settings: Any) -> None:
    """Only CHANNEL_LAYERS changes which changelog is used."""
    found = changelog()
    settings.TYPED_DCRF = {"MAX_SUBSCRIPTIONS": 5}
    assert changelog() is found
