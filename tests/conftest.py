"""Fixtures for every test (typed_dcrf's own pytest plugin closes the database thread's
connections after each one), and the real-server fixture: uvicorn and daphne on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import cast

import pytest

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
