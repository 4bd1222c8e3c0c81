"""Serializers of the test models, shared by the generic consumer tests."""

from __future__ import annotations

from rest_framework import serializers

from tests.app.models import Board, Item, Note, Task


class ItemSerializer(serializers.ModelSerializer[Item]):
    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Item
        fields = ("id", "name", "slug", "uuid", "done", "owner")


class NoteSerializer(serializers.ModelSerializer[Note]):
    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Note
        fields = ("id", "text")


class BoardSerializer(serializers.ModelSerializer[Board]):
    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Board
        fields = ("id", "name", "notes", "members")


class TaskSerializer(serializers.ModelSerializer[Task]):
    class Meta:  # pyright: ignore[reportIncompatibleVariableOverride]  # DRF's stubs declare a Meta class
        model = Task
        fields = ("id", "title", "done", "rank", "owner")
