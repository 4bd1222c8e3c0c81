"""Counting what runs in the database thread: the SQL of a block, and the trips to the thread."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext

from typed_dcrf import db


# Django's connections are thread-local (ConnectionHandler.thread_critical: an asgiref Local
# backed by threading.local), so a CaptureQueriesContext entered in the test's own thread sees
# nothing of what the actions run. Every thread-sensitive sync_to_async call made from this event
# loop (one not run by async_to_sync, with no ThreadSensitiveContext, as under pytest-asyncio and
# channels' communicator) runs in asgiref's one SyncToAsync.single_thread_executor: db.run,
# channels' database_sync_to_async and typed_dcrf's sync actions alike. So the capture is entered,
# exited and read (captured_queries resolves `connection` again) through db.run, on that thread's
# connection. Should an action ever run elsewhere, its queries would be missing and the pinned
# counts below would fail: the capture cannot silently pass. The connection's query log survives
# the close_old_connections calls channels makes around each trip.
def _start_capture() -> CaptureQueriesContext:
    capture = CaptureQueriesContext(connection)
    capture.__enter__()
    return capture


def _stop_capture(capture: CaptureQueriesContext) -> list[str]:
    capture.__exit__(None, None, None)
    return [query["sql"] for query in capture.captured_queries]


@asynccontextmanager
async def database_thread_queries() -> AsyncGenerator[list[str], None]:
    """The SQL run in the database thread inside the block (filled in when it exits)."""
    statements: list[str] = []
    capture = await db.run(_start_capture)
    try:
        yield statements
    finally:
        statements += await db.run(_stop_capture, capture)
