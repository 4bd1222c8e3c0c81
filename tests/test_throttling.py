"""Throttles before every action: typed_dcrf's ConnectionRateThrottle and DRF's own classes, a
refusal a 429 that says how long to wait."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import (
    AnonRateThrottle,
    BaseThrottle,
    ScopedRateThrottle,
    UserRateThrottle,
)

from tests.frames import ask
from typed_dcrf import (
    AsyncAPIConsumer,
    ConnectionRateThrottle,
    Response,
    ScopedConnectionRateThrottle,
    action,
)
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject


class ThreePerMinute(ConnectionRateThrottle):
    rate = "3/min"


class TwoPerUser(UserRateThrottle):
    rate = "2/min"


class TwoPerAddress(AnonRateThrottle):
    rate = "2/min"


class PerConnection(AsyncAPIConsumer):
    throttle_classes = (ThreePerMinute,)

    @action()
    async def echo(self, n: int) -> Response[int]:
        return Response.ok(n)


class PerUser(AsyncAPIConsumer):
    throttle_classes = (TwoPerUser, TwoPerAddress)

    @action()
    async def echo(self, n: int) -> Response[int]:
        return Response.ok(n)


def wait_of(reply: JSONObject) -> int:
    """A throttled reply's wait, in whole seconds."""
    assert reply["response_status"] == 429
    data = reply["data"]
    assert isinstance(data, dict)
    wait = data["wait"]
    assert isinstance(wait, int)
    return wait


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """DRF's throttles keep their history in Django's cache: a clean one for every test."""
    cache.clear()
    yield
    cache.clear()


async def test_a_connection_past_its_rate_gets_429_with_the_wait() -> None:
    """The fourth action in a minute is refused with a 429 whose data says how long to wait;
    another connection has its own allowance."""
    async with ApiClient(PerConnection) as client, ApiClient(PerConnection) as other:
        for n in range(3):
            assert (await ask(client, "echo", n=n))["data"] == n
        refused = await ask(client, "echo", n=4)
        assert wait_of(refused) >= 59
        assert refused["errors"] == [
            f"Request was throttled. Expected available in {wait_of(refused)} seconds."
        ]
        assert (await ask(other, "echo", n=5))["data"] == 5


async def test_throttles_run_before_the_arguments_are_validated() -> None:
    """Invalid frames count against the rate too, and past it are refused unparsed."""
    async with ApiClient(PerConnection) as client:
        for _ in range(3):
            assert (await ask(client, "echo", n="x"))["response_status"] == 400
        assert (await ask(client, "echo", n="x"))["response_status"] == 429


@pytest.mark.django_db(transaction=True)
async def test_drf_user_throttle_counts_a_users_actions_across_connections() -> None:
    """DRF's UserRateThrottle keys by the connection's user: two connections of one user share
    two actions a minute; another user has their own."""
    alice = await User.objects.acreate(username="alice")
    bob = await User.objects.acreate(username="bob")
    async with (
        ApiClient(PerUser, user=alice) as first,
        ApiClient(PerUser, user=alice) as second,
        ApiClient(PerUser, user=bob) as third,
    ):
        assert (await ask(first, "echo", n=1))["data"] == 1
        assert (await ask(second, "echo", n=2))["data"] == 2
        assert wait_of(await ask(first, "echo", n=3)) > 0
        assert (await ask(third, "echo", n=4))["data"] == 4


async def test_drf_anonymous_throttle_counts_by_client_address() -> None:
    """DRF's AnonRateThrottle keys anonymous connections by their client address (the scope's
    ``client``)."""
    here = {"client": ("10.0.0.1", 50000)}
    elsewhere = {"client": ("10.0.0.2", 50000)}
    async with (
        ApiClient(PerUser, scope=here) as first,
        ApiClient(PerUser, scope=here) as second,
        ApiClient(PerUser, scope=elsewhere) as third,
    ):
        assert (await ask(first, "echo", n=1))["data"] == 1
        assert (await ask(second, "echo", n=2))["data"] == 2
        assert (await ask(second, "echo", n=3))["response_status"] == 429
        assert (await ask(third, "echo", n=4))["data"] == 4


class OneUploadPerMinute(ScopedRateThrottle):
    THROTTLE_RATES = {"uploads": "1/min"}


class Uploads(AsyncAPIConsumer):
    throttle_classes = (OneUploadPerMinute,)
    throttle_scope = "uploads"

    @action()
    async def upload(self, n: int) -> Response[int]:
        return Response.ok(n)


async def test_drf_scoped_throttle_reads_the_consumers_throttle_scope() -> None:
    """DRF's ScopedRateThrottle finds its scope on the consumer, as on a view."""
    async with ApiClient(Uploads) as client:
        assert (await ask(client, "upload", n=1))["data"] == 1
        assert wait_of(await ask(client, "upload", n=2)) > 0


class PerActionRates(ScopedConnectionRateThrottle):
    THROTTLE_RATES = {"search": "2/min", "uploads": "1/min"}


class OneSearchPerUser(ScopedRateThrottle):
    THROTTLE_RATES = {"search": "1/min"}


class Library(AsyncAPIConsumer):
    throttle_classes = (PerActionRates,)
    throttle_scope = "uploads"

    @action(throttle_scope="search")
    async def search(self, n: int) -> Response[int]:
        return Response.ok(n)

    @action(throttle_scope="search", name="suggest")
    async def also_search(self, n: int) -> Response[int]:
        return Response.ok(n)

    @action()
    async def upload(self, n: int) -> Response[int]:
        return Response.ok(n)


class Unscoped(AsyncAPIConsumer):
    throttle_classes = (PerActionRates,)

    @action()
    async def echo(self, n: int) -> Response[int]:
        return Response.ok(n)


async def test_scoped_connection_throttle_counts_each_scope_of_a_connection_apart() -> None:
    """An action's throttle_scope has its own rate per connection, shared by the actions of that
    scope; an action without one counts in the consumer's scope; other connections are apart."""
    async with ApiClient(Library) as client, ApiClient(Library) as other:
        assert (await ask(client, "search", n=1))["data"] == 1
        assert (await ask(client, "suggest", n=2))["data"] == 2
        assert wait_of(await ask(client, "search", n=3)) > 0
        assert (await ask(client, "upload", n=4))["data"] == 4
        assert wait_of(await ask(client, "upload", n=5)) > 0
        assert (await ask(other, "search", n=6))["data"] == 6


async def test_scoped_connection_throttle_lets_actions_without_a_scope_pass() -> None:
    """With no scope on the action nor the consumer, nothing is counted (as DRF's scoped
    throttle does)."""
    async with ApiClient(Unscoped) as client:
        for n in range(5):
            assert (await ask(client, "echo", n=n))["data"] == n


class UserSearches(AsyncAPIConsumer):
    throttle_classes = (OneSearchPerUser,)

    @action(throttle_scope="search")
    async def search(self, n: int) -> Response[int]:
        return Response.ok(n)

    @action()
    async def echo(self, n: int) -> Response[int]:
        return Response.ok(n)


@pytest.mark.django_db(transaction=True)
async def test_drf_scoped_throttle_reads_the_actions_throttle_scope() -> None:
    """DRF's ScopedRateThrottle counts a user's actions of the action's scope across their
    connections, and sees the action's name as the view's ``action``."""
    alice = await User.objects.acreate(username="alice")
    async with (
        ApiClient(UserSearches, user=alice) as first,
        ApiClient(UserSearches, user=alice) as second,
    ):
        assert (await ask(first, "search", n=1))["data"] == 1
        assert wait_of(await ask(second, "search", n=2)) > 0
        assert (await ask(second, "echo", n=3))["data"] == 3


class RefusesDeletes(BaseThrottle):
    """A custom throttle deciding by the view's ``action`` and reading the consumer through it."""

    def allow_request(self, request: Request, view: Any) -> bool:
        return bool(view.action != "delete" or view.allow_deletes)

    def wait(self) -> float | None:
        return 7


class Deletions(AsyncAPIConsumer):
    throttle_classes = (RefusesDeletes,)
    allow_deletes = False

    @action()
    async def delete(self) -> Response[None]:
        return Response.ok(None)

    @action()
    async def echo(self, n: int) -> Response[int]:
        return Response.ok(n)


async def test_a_throttle_sees_the_action_and_the_consumers_attributes() -> None:
    """The view a throttle gets names the action and reads any attribute of the consumer."""
    async with ApiClient(Deletions) as client:
        assert wait_of(await ask(client, "delete")) == 7
        assert (await ask(client, "echo", n=1))["data"] == 1
