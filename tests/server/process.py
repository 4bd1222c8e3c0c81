"""Real server processes for the tests: uvicorn or daphne serving tests/server/asgi.py on
127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent.parent
APP = "tests.server.asgi:application"

Server = Literal["uvicorn", "daphne"]


@dataclass(frozen=True)
class Running:
    """A server process serving tests/server/asgi.py on 127.0.0.1."""

    kind: Server
    port: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command(kind: Server, port: int) -> list[str]:
    if kind == "uvicorn":
        options = ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
        return [sys.executable, "-m", "uvicorn", APP, *options, "--ws", "websockets"]
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APP]


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
