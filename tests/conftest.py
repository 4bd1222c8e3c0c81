"""Fixtures for every test (typed_dcrf's own pytest plugin closes the database thread's
connections after each one), and the real-server fixture: uvicorn and daphne on 127.0.0.1."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, cast

import pytest
from asgiref.sync import SyncToAsync

from tests.fuzzing import Sent
from tests.leaks import leaks, record_frames
from tests.server.process import Running, Server, migrate, serve, server_environment
from tests.settings import REDIS_LAYER

pytest_plugins = ["pytester"]
DATABASE_FIXTURES = {"db", "transactional_db"}

_frames: list[str] = []
record_frames(_frames.append)


@pytest.fixture(autouse=True)
def no_internal_detail_in_frames() -> Iterator[None]:
    """Every frame consumers send during the test is scanned for internal detail afterwards."""
    _frames.clear()
    yield
    found = leaks(_frames)
    _frames.clear()
    if found:
        pytest.fail("frames with internal detail were sent:\n" + "\n".join(found))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass runs the tests that use the database; the others do not depend on
    it, and run in the SQLite pass."""
    if os.environ.get("TEST_DB") != "postgres":
        return

    def uses_database(item: pytest.Item) -> bool:
        marked = item.get_closest_marker("django_db") or item.get_closest_marker("database")
        return marked is not None or bool(
            set(getattr(item, "fixturenames", ())) & DATABASE_FIXTURES
        )

    config.hook.pytest_deselected(items=[item for item in items if not uses_database(item)])
    items[:] = [item for item in items if uses_database(item)]


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """A migrated SQLite database and a server process on it, for the requesting module."""
    if os.environ.get("TEST_DB") == "postgres":
        pytest.skip("runs in the SQLite pass: the servers use a SQLite file of their own")
    kind = cast("Server", request.param)
    directory = tmp_path_factory.mktemp(kind)
    environment = server_environment(directory)
    migrate(environment)
    with serve(kind, environment, directory / "server.log") as running:
        yield running


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The functions sent to another thread by sync_to_async, in order, from now on.

    Every trip to the database thread (asgiref's sync_to_async, channels'
    database_sync_to_async subclass, typed_dcrf.db) is a call of a SyncToAsync instance, and
    neither subclass overrides __call__: patching the class method counts them all.
    """
    sent: list[str] = []
    # Read from the class dict: asgiref's own annotation of __call__ is partly unknown.
    original: Callable[..., Coroutine[Any, Any, Any]] = vars(SyncToAsync)["__call__"]

    async def counted(self: SyncToAsync[..., Any], *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    return sent


def require(service: str, port: int) -> None:
    """Skip without ``service`` on 127.0.0.1:``port``, except in CI, where it must run."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        reason = f"{service} is not reachable on 127.0.0.1:{port}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI requires it")
        pytest.skip(reason)


@pytest.fixture
def redis_layer(settings: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The Redis channel layer for this test (its keys under a prefix of their own)."""
    require("Redis", 6379)
    config = {
        **REDIS_LAYER["CONFIG"],
        "prefix": f"typed_dcrf_test_{os.getpid()}_{request.node.name}",
    }
    layer = {**REDIS_LAYER, "CONFIG": config}
    settings.CHANNEL_LAYERS = {"default": layer}
    return layer


FRAMES_FUZZED = "frames_fuzzed"
"""The key a pytest-xdist worker reports its count of fuzzed frames under."""


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its count of fuzzed frames to the controller."""
    workeroutput: dict[str, object] | None = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[FRAMES_FUZZED] = Sent.frames


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The controller adds up its workers' counts (pytest-xdist's hook)."""
    Sent.frames += int(getattr(node, "workeroutput", {}).get(FRAMES_FUZZED, 0))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many frames the fuzz tests (tests/test_fuzz.py) sent, when they ran."""
    if Sent.frames:
        terminalreporter.write_line(f"frames fuzzed: {Sent.frames}")
