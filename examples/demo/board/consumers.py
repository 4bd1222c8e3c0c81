"""The board's websocket API, served on one multiplexed route: stream ``tasks`` (CRUD, three
typed actions, live list and instance subscriptions) and stream ``me`` (who is connected)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from django.db.models import QuerySet
from pydantic import StringConstraints
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.utils.serializer_helpers import ReturnDict
from typed_dcrf import (
    AsyncAPIConsumer,
    Demultiplexer,
    ModelConsumer,
    ObserveInstanceMixin,
    ObserveListMixin,
    Response,
    action,
)

from board.models import Task
from board.serializers import TaskSerializer

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class Tasks(
    ObserveListMixin[Task, TaskSerializer],
    ObserveInstanceMixin[Task, TaskSerializer],
    ModelConsumer[Task, TaskSerializer],
):
    """Everyone reads and follows the tasks; a signed-in user changes them (DRF's
    ``IsAuthenticatedOrReadOnly`` sees each action's HTTP method)."""

    permission_classes = (IsAuthenticatedOrReadOnly,)

    def get_queryset(self) -> QuerySet[Task]:
        return Task.objects.select_related("created_by")

    def filter_list(self, queryset: QuerySet[Task], *, done: bool | None = None) -> QuerySet[Task]:
        return queryset if done is None else queryset.filter(done=done)

    def perform_create(self, serializer: TaskSerializer) -> None:
        serializer.save(created_by=self.user)

    @action(method="POST")
    def toggle(self, pk: int) -> Response[ReturnDict[str, Any]]:
        """Mark the task done, or not done again."""
        task = self.get_object(pk=pk)
        task.done = not task.done
        task.save(update_fields=["done", "updated_at"])
        return Response.ok(self.serialize(task))

    @action(method="PATCH")
    def rename(self, pk: int, title: Title) -> Response[ReturnDict[str, Any]]:
        """Give the task a new title (1 to 80 characters, surrounding spaces dropped)."""
        task = self.get_object(pk=pk)
        task.title = title
        task.save(update_fields=["title", "updated_at"])
        return Response.ok(self.serialize(task))

    @action(method="DELETE")
    def clear_done(self) -> Response[int]:
        """Delete every done task; the reply is how many."""
        deleted, _ = self.get_queryset().filter(done=True).delete()
        return Response.ok(deleted)


@dataclass
class Visitor:
    username: str | None
    can_write: bool


class Me(AsyncAPIConsumer):
    """Who the connection belongs to (the session's user, through ``AuthMiddlewareStack``)."""

    @action(method="GET")
    async def whoami(self) -> Response[Visitor]:
        signed_in = self.user.is_authenticated
        return Response.ok(Visitor(self.user.get_username() if signed_in else None, signed_in))


class Board(Demultiplexer):
    """One websocket for the page: ``{"stream": "tasks", "payload": {...}}``."""

    streams = {"tasks": Tasks, "me": Me}
