"""Fixtures for every test (typed_dcrf's own pytest plugin closes the database thread's
connections after each one), and the real-server fixture: uvicorn and daphne on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, cast

import pytest
from asgiref.sync import SyncToAsync

from tests.server.process import ROOT, Running, Server, command, free_port, wait_for_port

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """A migrated SQLite database and a server process on it, for the requesting module."""
    if os.environ.get("TEST_DB") == "postgres":
        pytest.skip("runs in the SQLite pass: the servers use a SQLite file of their own")
    kind = cast("Server", request.param)
    directory = tmp_path_factory.mktemp(kind)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.server.settings",
        "TYPED_DCRF_SERVER_DB": str(directory / "db.sqlite3"),
        "PYTHONPATH": str(ROOT),
    }
    migrate = [sys.executable, "-m", "django", "migrate", "--verbosity", "0"]
    subprocess.run(migrate, cwd=ROOT, env=environment, check=True, timeout=120)
    port = free_port()
    log = directory / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command(kind, port), cwd=ROOT, env=environment, stdout=output, stderr=output
        )
    try:
        wait_for_port(port, process, log)
        yield Running(kind, port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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
