"""A task on the shared board."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models


# Fields are annotated for pyright, which has no Django plugin; mypy's plugin infers the same.
class Task(models.Model):
    title: models.CharField[str, str] = models.CharField(max_length=80)
    done: models.BooleanField[bool, bool] = models.BooleanField(default=False)
    created_by: models.ForeignKey[User | None, User | None] = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at: models.DateTimeField[dt.datetime, dt.datetime] = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title
