"""Strict, typed bridges from async code to the ORM.

Built on channels' ``database_sync_to_async`` (stale connections closed around every call, one
thread shared with the rest of Django's sync code). Strict: a QuerySet must not leave the
thread unevaluated, because evaluating it later would run SQL on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from channels.db import database_sync_to_async
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import RawQuerySet
from typing_extensions import ParamSpec

from typed_dcrf._exception_handler import DB_ERRORS, mark_unreachable

P = ParamSpec("P")
R = TypeVar("R")


class UnevaluatedQuerySetError(TypeError):
    """A database function returned a lazy QuerySet to async code."""


def close_broken_connections() -> bool:
    """Close this thread's connections that failed and no longer work (the server went away,
    or cut them): the next query connects again, instead of failing on the dead one. Whether
    one was broken, or could not connect at all (refused)."""
    found = False
    for connection in connections.all(initialized_only=True):
        if not connection.errors_occurred:
            continue
        if connection.connection is None:  # its last connect failed (a refused connection)
            found = True
        elif not connection.is_usable():
            connection.close()
            connection.errors_occurred = False  # closed: what failed is gone with it
            found = True
    return found


def _strict(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = func(*args, **kwargs)
        except DB_ERRORS as exc:
            # Also where channels' own closing is off (tests). A database error that leaves
            # the connection working (a missing table, a statement timeout) is a 500.
            if close_broken_connections():
                mark_unreachable(exc)
            raise
        # Raw queries and QuerySet.iterator() generators are as lazy as a QuerySet.
        if isinstance(result, QuerySet | RawQuerySet) or inspect.isgenerator(result):
            name = getattr(func, "__qualname__", repr(func))
            kind = type(cast("object", result)).__name__
            msg = (
                f"{name} returned an unevaluated {kind} to async code; "
                f"evaluate it in the sync function instead, e.g. `return list(queryset)`."
            )
            raise UnevaluatedQuerySetError(msg)
        return result

    return checked


caller_loop: ContextVar[asyncio.AbstractEventLoop] = ContextVar("typed_dcrf_caller_loop")
"""The event loop that called into the database thread: where events of the saves made there
are sent, without holding the thread."""

scheduled_sends: ContextVar[list[Future[None]]] = ContextVar("typed_dcrf_scheduled_sends")
"""The sends of events that the call into the database thread scheduled on its caller's loop:
the call returns once they are done, so that a save's events are on the layer when the save
returns (and never left pending when the loop ends)."""


async def _in_thread(
    in_thread: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
) -> R:
    caller_loop.set(asyncio.get_running_loop())
    sends: list[Future[None]] = []
    token = scheduled_sends.set(sends)
    try:
        return await in_thread(*args, **kwargs)
    finally:
        scheduled_sends.reset(token)
        if sends:  # a failed send is logged where it is made: it fails no save
            await asyncio.gather(*map(asyncio.wrap_future, sends), return_exceptions=True)


def database_sync(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate a sync function touching the ORM so that async code can await it."""
    in_thread = database_sync_to_async(_strict(func))

    @functools.wraps(func)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        return await _in_thread(in_thread, *args, **kwargs)

    return call


async def run(func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``func(*args, **kwargs)`` in the database thread: ``await run(Item.objects.count)``."""
    return await _in_thread(database_sync_to_async(_strict(func)), *args, **kwargs)
