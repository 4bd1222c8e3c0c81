"""The CRUD actions of model consumers, one mixin each, with DCRF's frames and statuses.

Each action is sync: it runs in one trip to the database thread, its permission checks
included, and calls DRF's hooks (``get_object()``, ``perform_create``, ``perform_update``,
``perform_destroy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from typed_dcrf.actions import action
from typed_dcrf.generics import GenericModelConsumer, LookupValue, M, S
from typed_dcrf.pagination import Page
from typed_dcrf.responses import Response
from typed_dcrf.types import JSONValue


class CreateModelMixin(GenericModelConsumer[M, S]):
    """``create {data}`` → 201 with the new object."""

    @action(method="POST")
    def create(self, data: Mapping[str, JSONValue]) -> Response[ReturnDict[str, Any]]:
        """Validate ``data`` with the serializer and save a new object."""
        serializer = self.get_serializer(data=data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response.created(serializer.data)

    def perform_create(self, serializer: S) -> None:
        """Save the new object (override to add fields: ``serializer.save(owner=...)``)."""
        serializer.save()


class ListModelMixin(GenericModelConsumer[M, S]):
    """``list`` → 200 with every (filtered) object."""

    @action(method="GET")
    def list(self, /, *, data: object = None, **filters: object) -> Response[ReturnList[Any]]:
        """The filtered queryset, serialized (``data`` is ignored: see ``retrieve``)."""
        queryset = self.filter_queryset(self.get_queryset())
        return Response.ok(self.serialize_many(queryset))


class PaginatedListModelMixin(GenericModelConsumer[M, S]):
    """``list {limit, offset}`` → 200 with one page, ``{count, results, limit, offset}`` (or
    the arguments and page of another ``pagination_class``)."""

    @action(method="GET")
    def list(self, /, *, data: object = None, **query: object) -> Response[Page[dict[str, Any]]]:
        """One page of the filtered queryset (``data`` is ignored)."""
        return Response.ok(self.paginate_queryset(self.filter_queryset(self.get_queryset())))


class RetrieveModelMixin(GenericModelConsumer[M, S]):
    """``retrieve {pk}`` → 200 with the object."""

    @action(method="GET")
    def retrieve(
        self, /, *, data: object = None, **lookup: LookupValue
    ) -> Response[ReturnDict[str, Any]]:
        """The object named by the lookup argument. ``data`` is accepted and ignored, as by
        DCRF: its JavaScript client sends ``data: {}`` with ``list``, ``retrieve`` and
        ``delete``."""
        return Response.ok(self.serialize(self.get_object()))


class _SaveMixin(GenericModelConsumer[M, S]):
    def save_object(
        self, data: Mapping[str, JSONValue], *, partial: bool
    ) -> Response[ReturnDict[str, Any]]:
        """Validate ``data`` against the action's object and save it."""
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        if getattr(instance, "_prefetched_objects_cache", None):
            # As DRF: prefetched relations are stale after the update.
            instance._prefetched_objects_cache = {}  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
        return Response.ok(serializer.data)

    def perform_update(self, serializer: S) -> None:
        """Save the changes (override to add fields: ``serializer.save(editor=...)``)."""
        serializer.save()


class UpdateModelMixin(_SaveMixin[M, S]):
    """``update {pk, data}`` → 200 with the object; ``data`` holds every required field."""

    @action(method="PUT")
    def update(
        self, /, data: Mapping[str, JSONValue], **lookup: LookupValue
    ) -> Response[ReturnDict[str, Any]]:
        """Replace the object's fields with ``data``."""
        return self.save_object(data, partial=False)


class PatchModelMixin(_SaveMixin[M, S]):
    """``patch {pk, data}`` → 200 with the object; ``data`` holds the fields to change."""

    @action(method="PATCH")
    def patch(
        self, /, data: Mapping[str, JSONValue], **lookup: LookupValue
    ) -> Response[ReturnDict[str, Any]]:
        """Change the fields in ``data``."""
        return self.save_object(data, partial=True)


class DeleteModelMixin(GenericModelConsumer[M, S]):
    """``delete {pk}`` → 204 with ``data: null``."""

    @action(method="DELETE")
    def delete(self, /, *, data: object = None, **lookup: LookupValue) -> Response[None]:
        """Delete the object named by the lookup argument (``data`` is ignored)."""
        self.perform_destroy(self.get_object())
        return Response.no_content()

    def perform_destroy(self, instance: M) -> None:
        """Delete ``instance``."""
        instance.delete()


class ReadOnlyModelConsumer(
    ListModelMixin[M, S], RetrieveModelMixin[M, S], GenericModelConsumer[M, S]
):
    """``list`` and ``retrieve``."""


class ModelConsumer(
    CreateModelMixin[M, S],
    ListModelMixin[M, S],
    RetrieveModelMixin[M, S],
    UpdateModelMixin[M, S],
    PatchModelMixin[M, S],
    DeleteModelMixin[M, S],
    GenericModelConsumer[M, S],
):
    """Every CRUD action: ``create``, ``list``, ``retrieve``, ``update``, ``patch``, ``delete``."""


class PaginatedModelConsumer(
    CreateModelMixin[M, S],
    PaginatedListModelMixin[M, S],
    RetrieveModelMixin[M, S],
    UpdateModelMixin[M, S],
    PatchModelMixin[M, S],
    DeleteModelMixin[M, S],
    GenericModelConsumer[M, S],
):
    """Every CRUD action, with a paginated ``list``."""
