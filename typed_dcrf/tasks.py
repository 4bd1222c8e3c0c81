"""Detached tasks: work a connection starts and keeps serving frames meanwhile.

``consumer.start_task(coroutine)`` and the ``@detached`` method decorator run a coroutine as a
task tied to the connection: counted against ``MAX_DETACHED_ACTIONS`` (with the detached
actions), its exception logged, cancelled and awaited when the client disconnects.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, Protocol, TypeVar

from typing_extensions import ParamSpec

from typed_dcrf.exceptions import Throttled

if TYPE_CHECKING:
    from typed_dcrf.consumers import AsyncAPIConsumer

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
C = TypeVar("C", bound="AsyncAPIConsumer")
C_contra = TypeVar("C_contra", bound="AsyncAPIConsumer", contravariant=True)

logger: logging.Logger = logging.getLogger("typed_dcrf")

# A task runs any coroutine, whose send and yield types asyncio itself types as Any.
Work = Coroutine[Any, Any, T]


class ConnectionTasks:
    """The tasks one connection runs, at most ``limit`` at once; their errors are logged."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, work: Work[T], *, limit: int) -> asyncio.Task[T]:
        """Run ``work`` as a task, or raise ``Throttled`` when ``limit`` tasks are running."""
        if len(self._tasks) >= limit:
            work.close()  # never started: no "never awaited" warning
            raise Throttled(detail="Too many tasks running on this connection; retry later.")
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("Detached task of %s failed", self._owner, exc_info=exc)

    async def close(self) -> None:
        """Cancel every task and wait for them to end (again: nothing to do)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _AsyncMethod(Protocol[C_contra, P, T_co]):
    # Not `Callable[Concatenate[C, P], ...]`: given a sync method, mypy's note on a Concatenate
    # type would be to mark `self` positional-only.
    def __call__(self, instance: C_contra, /, *args: P.args, **kwargs: P.kwargs) -> Work[T_co]: ...


def detached(
    method: _AsyncMethod[C, P, T],
) -> Callable[Concatenate[C, P], Work[asyncio.Task[T]]]:
    """Make an async consumer method start itself as a detached task and return at once.

    Awaiting the decorated method (as channels does for a channel layer handler) starts the
    task and returns it; the connection goes on serving while it runs.
    """

    async def start(self: C, /, *args: P.args, **kwargs: P.kwargs) -> asyncio.Task[T]:
        return self.start_task(method(self, *args, **kwargs))

    _ = functools.update_wrapper(start, method)
    return start
