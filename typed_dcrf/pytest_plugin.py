"""The typed_dcrf pytest plugin, registered by the package's ``pytest11`` entry point.

After each test it closes the database connections of the database thread. Actions and
``typed_dcrf.db`` calls run in asgiref's thread-sensitive executor, whose connections the test
communicators (typed_dcrf's and channels') leave open, so that a test's own transaction is
spared; PostgreSQL then refuses to drop the test database ("being accessed by other users").
It also forgets the in-memory logs of list subscriptions, which a later test would otherwise
resume from and keep reading changes for. Disable it with ``-p no:typed_dcrf``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _typed_dcrf_database_thread() -> Iterator[None]:
    """Close the database thread's connections once the test is over."""
    yield
    # Imported here: the plugin loads before Django is set up, in projects without it too.
    from django.conf import settings

    if not settings.configured:
        return
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from typed_dcrf._events import forget_logs

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
    forget_logs()
