"""Real server processes for the tests: uvicorn or daphne serving tests/server/asgi.py on
127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.leaks import FRAMES_FILE, frames_in, leaks

ROOT = Path(__file__).resolve().parent.parent.parent
APP = "tests.server.asgi:application"

Server = Literal["uvicorn", "daphne"]


@dataclass(frozen=True)
class Running:
    """A server process serving tests/server/asgi.py on 127.0.0.1."""

    kind: Server
    port: int
    pid: int = 0
    """The server's process id (for a test that kills it)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command(kind: Server, port: int, app: str = APP) -> list[str]:
    if kind == "uvicorn":
        options = ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
        return [sys.executable, "-m", "uvicorn", app, *options, "--ws", "websockets"]
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError(f"the server did not listen within 30 s: {log.read_text()}")


def unmeasured_environment() -> dict[str, str]:
    """This process's environment, for a process that coverage's subprocess patch leaves
    alone (measuring servers and type checkers would slow the suite for no line it misses)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_")}


def run_unmeasured(
    command: list[str],
    *,
    cwd: Path = ROOT,
    environment: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end, its output captured as text, unmeasured by coverage."""
    return subprocess.run(
        command,
        cwd=cwd,
        env=unmeasured_environment() if environment is None else environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def server_environment(directory: Path, **extra: str) -> dict[str, str]:
    """The environment of a server process on the SQLite file in ``directory``."""
    return {
        **unmeasured_environment(),
        "DJANGO_SETTINGS_MODULE": "tests.server.settings",
        "TYPED_DCRF_SERVER_DB": str(directory / "db.sqlite3"),
        "PYTHONPATH": str(ROOT),
        FRAMES_FILE: str(directory / "frames.txt"),
        **extra,
    }


def migrate(environment: Mapping[str, str]) -> None:
    """Create the tables of the servers' database."""
    command = [sys.executable, "-m", "django", "migrate", "--verbosity", "0"]
    subprocess.run(command, cwd=ROOT, env=environment, check=True, timeout=120)


@contextmanager
def serve(
    kind: Server,
    environment: Mapping[str, str],
    log: Path,
    *,
    app: str = APP,
    cwd: Path = ROOT,
) -> Generator[Running]:
    """A ``kind`` server process on a free port, serving ``app`` from ``cwd``, stopped when
    the block ends; then the frames it sent, where it recorded them, are scanned for leaks."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command(kind, port, app), cwd=cwd, env=environment, stdout=output, stderr=output
        )
    try:
        wait_for_port(port, process, log)
        yield Running(kind, port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if frames_file := environment.get(FRAMES_FILE):
        found = leaks(frames_in(Path(frames_file)))
        assert not found, "the server sent frames with internal detail:\n" + "\n".join(found)
