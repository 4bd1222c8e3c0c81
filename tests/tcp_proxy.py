"""A TCP proxy on 127.0.0.1 in front of a service, for fault tests: it can refuse new
connections (nothing listens on its port) and cut the ones it carries, as a service that went
away would.

It runs its own event loop in a thread of its own, so that sync code (the database thread) and
async tests alike go through it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Generator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
TIMEOUT = 10.0


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target_host``:``target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._carried: set[asyncio.StreamWriter] = set()
        self.accepted = 0
        """Connections accepted so far."""

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(TIMEOUT)

    def start(self) -> None:
        self._thread.start()
        self.listen()

    def listen(self) -> None:
        """Accept connections (again), on the same port."""
        self._run(self._listen())

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._carry, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    def refuse(self) -> None:
        """Stop listening: a new connection is refused (the carried ones go on)."""
        self._run(self._refuse())

    async def _refuse(self) -> None:
        if self._server is not None:
            self._server.close()  # not wait_closed(): it waits for the carried ones too
            self._server = None

    def cut(self) -> None:
        """Close every carried connection, both ways, as a killed server would."""
        self._run(self._cut())

    async def _cut(self) -> None:
        for writer in list(self._carried):
            writer.transport.abort()
        self._carried.clear()

    def stop(self) -> None:
        self.refuse()
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        self._loop.close()

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._carried |= {writer, upstream_writer}
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )
        self._carried -= {writer, upstream_writer}
        for side in (writer, upstream_writer):
            side.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65_536):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.transport.abort()  # one side gone: the other goes too


@contextmanager
def proxy_to(host: str, port: int) -> Generator[TcpProxy]:
    """A running proxy to ``host``:``port``, stopped when the block ends."""
    proxy = TcpProxy(host, port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
