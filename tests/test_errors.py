"""One error path: client errors keep their status and message; anything else, and every 5xx,
is a reply with a generic message, logged with its traceback."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any, cast

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import OperationalError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import Http404
from rest_framework import exceptions as drf_exceptions

from tests.app.models import Note
from typed_dcrf import (
    APIError,
    AsyncAPIConsumer,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    Response,
    ServerError,
    Throttled,
    ValidationError,
    _exception_handler,
    action,
    db,
)
from typed_dcrf.exceptions import ServiceUnavailable
from typed_dcrf.testing import ApiClient
from typed_dcrf.types import JSONObject, JSONValue


class Teapot(APIError):
    status_code = 418
    default_detail = "I'm a teapot."
    default_code = "teapot"


class Unavailable(drf_exceptions.APIException):
    status_code = 503
    default_detail = "secret: the cache at 10.0.0.3 is down"


RAISED: dict[str, BaseException] = {
    "validation": ValidationError({"name": ["Too long."], "addr": {"zip": ["Bad zip."]}}),
    "validation_list": ValidationError(["First.", "Second."]),
    "not_authenticated": NotAuthenticated(),
    "permission_denied": PermissionDenied("Owners only."),
    "not_found": NotFound(),
    "method_not_allowed": MethodNotAllowed("frobnicate"),
    "throttled": Throttled(wait=2.2),
    "throttled_one": Throttled(wait=1),
    "custom": Teapot(),
    "drf_validation": drf_exceptions.ValidationError({"name": ["This field is required."]}),
    "drf_not_found": drf_exceptions.NotFound(),
    "drf_permission": drf_exceptions.PermissionDenied(),
    "drf_throttled": drf_exceptions.Throttled(wait=3),
    "django_404": Http404("secret path"),
    "does_not_exist": ObjectDoesNotExist("secret query"),
    "django_permission": DjangoPermissionDenied("secret reason"),
    "unexpected": RuntimeError("secret: password=hunter2"),
    "key_error": KeyError("secret_key"),
    "server_error": ServerError("secret: db password is hunter2"),
    "drf_unavailable": Unavailable(),
    "app_unavailable": ServiceUnavailable("The search index is being rebuilt."),
    "database_error": OperationalError("secret: no such column: item.colour"),
}
SERVER_ERRORS = {"unexpected", "key_error", "server_error", "drf_unavailable", "database_error"}

EXPECTED: dict[str, tuple[int, JSONValue]] = {
    "validation": (400, [{"name": ["Too long."], "addr": {"zip": ["Bad zip."]}}]),
    "validation_list": (400, ["First.", "Second."]),
    "not_authenticated": (401, ["Authentication credentials were not provided."]),
    "permission_denied": (403, ["Owners only."]),
    "not_found": (404, ["Not found."]),
    "method_not_allowed": (405, ['Method "frobnicate" not allowed.']),
    "throttled": (429, ["Request was throttled. Expected available in 3 seconds."]),
    "throttled_one": (429, ["Request was throttled. Expected available in 1 second."]),
    "custom": (418, ["I'm a teapot."]),
    "drf_validation": (400, [{"name": ["This field is required."]}]),
    "drf_not_found": (404, ["Not found."]),
    "drf_permission": (403, ["You do not have permission to perform this action."]),
    "drf_throttled": (429, ["Request was throttled. Expected available in 3 seconds."]),
    "django_404": (404, ["Not found"]),
    "does_not_exist": (404, ["Not found"]),
    "django_permission": (403, ["You do not have permission to perform this action."]),
    "unexpected": (500, ["A server error occurred."]),
    "key_error": (500, ["A server error occurred."]),
    "server_error": (500, ["A server error occurred."]),
    "drf_unavailable": (503, ["A server error occurred."]),
    "app_unavailable": (503, ["The search index is being rebuilt."]),
    "database_error": (500, ["A server error occurred."]),
}


class FailingConsumer(AsyncAPIConsumer):
    @action
    async def fail(self, kind: str) -> Response[None]:
        raise RAISED[kind]

    @action
    def fail_sync(self, kind: str) -> Response[None]:
        raise RAISED[kind]

    @action
    async def ok(self) -> Response[str]:
        return Response.ok("fine")

    @action
    def query_missing_table(self) -> Response[None]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM typed_dcrf_no_such_table")
        return Response.ok(None)

    @action
    def query_cut(self) -> Response[None]:
        """A query whose connection the server cut: the driver's error, as Django raises it."""
        connection.ensure_connection()
        with connection.wrap_database_errors:
            driver = cast("Any", connection).Database  # its DB-API module: untyped
            raise driver.OperationalError("server closed the connection")


async def call_raw(client: ApiClient, frame: JSONObject) -> JSONObject:
    await client.send(frame)
    return await client.receive()


# A throttled reply says how long to wait, in seconds, rounded up.
WAITS: dict[str, object] = {
    "throttled": {"wait": 3},
    "throttled_one": {"wait": 1},
    "drf_throttled": {"wait": 3},
}


@pytest.mark.parametrize("action_name", ["fail", "fail_sync"])
@pytest.mark.parametrize("kind", sorted(RAISED))
@pytest.mark.django_db(transaction=True)
async def test_exceptions_map_to_one_envelope(action_name: str, kind: str) -> None:
    """Each exception family maps to its status and message, from async and sync actions."""
    status, errors = EXPECTED[kind]
    async with ApiClient(FailingConsumer) as client:
        reply = await call_raw(client, {"action": action_name, "kind": kind, "request_id": kind})
        assert reply == {
            "errors": errors,
            "data": WAITS.get(kind),
            "action": action_name,
            "response_status": status,
            "request_id": kind,
        }
        assert "secret" not in str(reply)
        assert (await call_raw(client, {"action": "ok"}))["data"] == "fine"


@pytest.mark.parametrize("kind", sorted(SERVER_ERRORS))
async def test_server_errors_are_logged_with_traceback(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 5xx, raised as such or not, is logged with the action name and the traceback; the
    client sees neither."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        async with ApiClient(FailingConsumer) as client:
            reply = await call_raw(client, {"action": "fail", "kind": kind})
    assert reply["errors"] == ["A server error occurred."]
    [record] = caplog.records
    assert record.getMessage() == "Unhandled exception in action 'fail'"
    assert record.exc_info is not None
    assert record.exc_info[1] is RAISED[kind]


async def test_client_errors_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Expected client errors (4xx) leave the error log alone."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        async with ApiClient(FailingConsumer) as client:
            await call_raw(client, {"action": "fail", "kind": "not_found"})
    assert caplog.records == []


async def test_one_clients_error_does_not_touch_another() -> None:
    """A crash on one connection leaves a second connection's replies untouched."""
    async with ApiClient(FailingConsumer) as first, ApiClient(FailingConsumer) as second:
        await first.send({"action": "fail", "kind": "unexpected"})
        await second.send({"action": "ok", "request_id": "b"})
        assert (await first.receive())["response_status"] == 500
        assert await second.receive() == {
            "errors": [],
            "data": "fine",
            "action": "ok",
            "response_status": 200,
            "request_id": "b",
        }


class WrongReturnConsumer(AsyncAPIConsumer):
    @action
    async def not_a_response(self) -> Response[int]:
        return 5  # type: ignore[return-value]  # pyright: ignore[reportReturnType]

    @action
    async def wrong_data(self) -> Response[int]:
        data: Any = "five"  # what a wrongly typed helper would hand back
        return Response.ok(data)


@pytest.mark.parametrize("name", ["not_a_response", "wrong_data"])
async def test_returning_the_wrong_thing_is_a_logged_500(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A non-Response, or data not matching Response[T], is a 500 that is logged."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        async with ApiClient(WrongReturnConsumer) as client:
            reply = await call_raw(client, {"action": name})
    assert reply["response_status"] == 500
    assert len(caplog.records) == 1


def test_api_error_defaults_and_overrides() -> None:
    """APIError carries status_code, detail and code, with per-instance overrides."""
    error = NotFound()
    assert (error.status_code, error.detail, error.code) == (404, "Not found.", "not_found")
    custom = PermissionDenied("Nope.", code="owner_only")
    assert (custom.detail, custom.code) == ("Nope.", "owner_only")
    assert Throttled().detail == "Request was throttled."
    assert Throttled(wait=0.4).wait == 1


class CancellingConsumer(AsyncAPIConsumer):
    @action
    async def stray_cancel(self) -> Response[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.cancel()
        await future  # raises CancelledError, though nobody cancelled this task
        return Response.no_content()

    @action(detached=True)
    async def detached_failure(self) -> Response[None]:
        raise RuntimeError("secret")

    @action
    async def ok(self) -> Response[str]:
        return Response.ok("fine")

    @action
    def query_missing_table(self) -> Response[None]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM typed_dcrf_no_such_table")
        return Response.ok(None)


@pytest.mark.parametrize("name", ["stray_cancel", "detached_failure"])
async def test_stray_cancellations_and_detached_failures_are_500s(name: str) -> None:
    """A CancelledError from user code, or a failing detached action, is a 500 reply."""
    async with ApiClient(CancellingConsumer) as client:
        reply = await call_raw(client, {"action": name, "request_id": name})
        assert (reply["response_status"], reply["request_id"]) == (500, name)
        assert (await call_raw(client, {"action": "ok"}))["data"] == "fine"


@pytest.mark.django_db(transaction=True)
async def test_a_database_error_on_a_working_connection_is_a_500() -> None:
    """A missing table (a migration not run) is an OperationalError in SQLite, with the
    connection working: a server error, not a database that cannot be reached."""
    async with ApiClient(FailingConsumer) as client:
        reply = await call_raw(client, {"action": "query_missing_table", "request_id": 1})
        assert (reply["response_status"], reply["errors"]) == (500, ["A server error occurred."])
        assert (await call_raw(client, {"action": "ok"}))["data"] == "fine"


@pytest.mark.django_db(transaction=True)
async def test_a_database_error_on_a_connection_that_no_longer_works_is_a_503(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A query fails, and its connection is found no longer usable (the server went away): a
    503, the connection closed, and the next query works on a connection made anew."""

    def is_usable(self: BaseDatabaseWrapper) -> bool:
        return False

    monkeypatch.setattr(type(connections["default"]), "is_usable", is_usable)
    async with ApiClient(FailingConsumer) as client:
        reply = await call_raw(client, {"action": "query_cut", "request_id": 1})
        assert (reply["response_status"], reply["errors"]) == (
            503,
            ["Service temporarily unavailable, try again later."],
        )
        assert not await db.run(lambda: connections["default"].errors_occurred)
        monkeypatch.undo()
        assert await db.run(Note.objects.count) == 0


def test_the_layers_unreachable_errors_are_redis_pys_and_none_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With redis-py installed, its connection errors and timeouts say the channel layer cannot
    be reached (its timeouts, that a read timed out); without it (the in-memory layer needs
    none), no error does."""
    import redis.exceptions

    found = _exception_handler._redis_errors()  # pyright: ignore[reportPrivateUsage]
    timeout = redis.exceptions.TimeoutError
    assert found == ((redis.exceptions.ConnectionError, timeout), (timeout,))
    monkeypatch.setitem(sys.modules, "redis", None)  # what `import redis` finds uninstalled
    assert _exception_handler._redis_errors() == ((), ())  # pyright: ignore[reportPrivateUsage]
