"""How a task looks on the wire: in replies, in list pages and in events."""

from __future__ import annotations

from rest_framework import serializers

from board.models import Task


class TaskSerializer(serializers.ModelSerializer[Task]):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Task
        fields = ("id", "title", "done", "created_by", "updated_at")
        read_only_fields = ("updated_at",)
