"""A redis-server of the test's own on a free port of 127.0.0.1, without persistence, that the
test may stop and start again (it comes back empty, as a restarted channel layer Redis does)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.server.process import free_port


def require_redis_server() -> str:
    """The redis-server binary; skip without one, except in CI, where it must run."""
    found = shutil.which("redis-server")
    if found is None:
        reason = "no redis-server binary on the PATH"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI requires it")
        pytest.skip(reason)
    return found


class RedisServer:
    """``redis-server --port <port> --save '' --appendonly no``, started and stopped at will."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        log = (self.directory / "redis.log").open("ab")
        self._process = subprocess.Popen(
            [self.binary, *options, "no", "--dir", str(self.directory)], stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("redis-server did not start: " + self.log())
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def log(self) -> str:
        return (self.directory / "redis.log").read_text(errors="replace")


@contextmanager
def redis_server(directory: Path) -> Generator[RedisServer]:
    server = RedisServer(require_redis_server(), directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
