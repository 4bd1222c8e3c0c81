"""Fixtures for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import SyncToAsync
from django.db import connections


@pytest.fixture(autouse=True)
def _close_database_thread_connections() -> Iterator[None]:
    """Close the connections the database thread opened during the test.

    channels' test communicator turns ``close_old_connections`` into a no-op, so they would
    stay open, and PostgreSQL refuses to drop a test database that still has sessions. Actions
    and ``typed_dcrf.db`` calls run in asgiref's thread-sensitive executor (no ``async_to_sync``
    surrounds the tests' event loop), so that is where they are closed.
    """
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
