"""Models for database-backed tests: Note (actions), Item (generic model consumers), Board
(many-to-many observers), Task (list subscriptions), Specimen (serializer output)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

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


class Specimen(models.Model):
    """One of each model field DRF's ``ModelSerializer`` maps (the shared serializer's tests
    compare its output with DRF's)."""

    name: models.CharField[str, str] = models.CharField(max_length=100)
    text: models.TextField[str, str] = models.TextField(blank=True, default="")
    slug: models.SlugField[str, str] = models.SlugField(blank=True, default="")
    email: models.EmailField[str, str] = models.EmailField(blank=True, default="")
    url: models.URLField[str, str] = models.URLField(blank=True, default="")
    uuid: models.UUIDField[uuid.UUID, uuid.UUID] = models.UUIDField(default=uuid.uuid4)
    ip: models.GenericIPAddressField[str | None, str | None] = models.GenericIPAddressField(
        null=True, blank=True
    )
    count: models.IntegerField[int, int] = models.IntegerField(default=0)
    small: models.SmallIntegerField[int, int] = models.SmallIntegerField(default=0)
    big: models.BigIntegerField[int, int] = models.BigIntegerField(default=0)
    positive: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    ratio: models.FloatField[float, float] = models.FloatField(default=0.0)
    price: models.DecimalField[Decimal, Decimal] = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal(0)
    )
    flag: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    maybe: models.BooleanField[bool | None, bool | None] = models.BooleanField(null=True)
    day: models.DateField[date | None, date | None] = models.DateField(null=True)
    moment: models.TimeField[time | None, time | None] = models.TimeField(null=True)
    stamp: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(null=True)
    span: models.DurationField[timedelta | None, timedelta | None] = models.DurationField(null=True)
    data: models.JSONField = models.JSONField(null=True)
    upload: models.FileField = models.FileField(blank=True, default="")
    kind: models.CharField[str, str] = models.CharField(
        max_length=10, choices=[("a", "Apple"), ("b", "Banana")], default="a"
    )
    owner: models.ForeignKey[User | None, User | None] = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="specimens",
    )
    watchers: models.ManyToManyField[User, models.Model] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="watched_specimens", blank=True
    )
    owner_id: int | None  # declared for pyright; mypy's django plugin knows it

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"specimen {self.name}"

    def label(self) -> str:
        """A method, read by a field's ``source``: DRF calls it."""
        return f"{self.name}!"

    @property
    def shout(self) -> str:
        """A property, read by a field's ``source``."""
        return self.name.upper()
