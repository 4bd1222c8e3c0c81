"""A minimal model for database-backed action tests."""

from __future__ import annotations

from django.db import models


class Note(models.Model):
    text: models.CharField[str, str] = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.text
