"""Consumers of the test app, imported at start-up by typed_dcrf's app (OBSERVER_MODULES), so
that their observers send events from any process, a subprocess saving in the shell included."""

from __future__ import annotations

from django.db.models import QuerySet

from tests.app.models import Board, Item, Task
from tests.app.serializers import BoardSerializer, ItemSerializer, TaskSerializer
from typed_dcrf import ModelConsumer, ObserveInstanceMixin, ObserveListMixin


class ObservedItems(
    ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]
):
    """CRUD on Item, and subscriptions to its rows."""


class ObservedBoards(
    ObserveInstanceMixin[Board, BoardSerializer], ModelConsumer[Board, BoardSerializer]
):
    """Subscriptions to boards, their members included."""

    observe_many_to_many = True


class LiveTasks(
    ObserveListMixin[Task, TaskSerializer],
    ObserveInstanceMixin[Task, TaskSerializer],
    ModelConsumer[Task, TaskSerializer],
):
    """List and instance subscriptions to tasks, filtered by typed arguments: ``done``,
    ``min_rank`` and ``owner`` are matched in memory, ``title_has`` by the database."""

    def filter_list(
        self,
        queryset: QuerySet[Task],
        *,
        done: bool | None = None,
        min_rank: int | None = None,
        owner: int | None = None,
        title_has: str | None = None,
    ) -> QuerySet[Task]:
        if done is not None:
            queryset = queryset.filter(done=done)
        if min_rank is not None:
            queryset = queryset.filter(rank__gte=min_rank)
        if owner is not None:
            queryset = queryset.filter(owner_id=owner)
        if title_has is not None:
            queryset = queryset.filter(title__contains=title_has)
        return queryset
