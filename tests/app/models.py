"""Models for database-backed tests: Note (actions), Item (generic model consumers), Board
(many-to-many observers), Task (list subscriptions)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models


class Note(models.Model):
    text: models.CharField[str, str] = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.text


class Item(models.Model):
    """A model with the lookup field types the generic consumers support."""

    name: models.CharField[str, str] = models.CharField(max_length=100)
    slug: models.SlugField[str, str] = models.SlugField(unique=True)
    uuid: models.UUIDField[uuid.UUID, uuid.UUID] = models.UUIDField(unique=True, default=uuid.uuid4)
    done: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    owner: models.ForeignKey[User | None, User | None] = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="items",
    )
    owner_id: int | None  # declared for pyright; mypy's django plugin knows it

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.name


class Board(models.Model):
    """A model with a many-to-many field, for observers of many-to-many changes, and long
    notes, for events larger than a client reads at once."""

    name: models.CharField[str, str] = models.CharField(max_length=100)
    notes: models.TextField[str, str] = models.TextField(blank=True, default="")
    members: models.ManyToManyField[User, models.Model] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="boards", blank=True
    )

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    """A model for list subscriptions: filters on text, flags, numbers and an owner."""

    title: models.CharField[str, str] = models.CharField(max_length=100)
    done: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    rank: models.IntegerField[int, int] = models.IntegerField(default=0)
    meta: models.JSONField = models.JSONField(null=True, blank=True)
    owner: models.ForeignKey[User | None, User | None] = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    owner_id: int | None  # declared for pyright; mypy's django plugin knows it

    def __str__(self) -> str:
        return self.title
