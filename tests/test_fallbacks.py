"""The answers of the database for the list subscriptions memory cannot match: one query per
event for every queryset like it, kept for the latest events only."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import QuerySet

from tests.app.models import Task
from typed_dcrf import _matching as matching
from typed_dcrf import db
from typed_dcrf._matching import Fallbacks

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_answers_of_the_latest_events_are_kept_older_ones_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With two events' answers kept, a subscription asking about the third-latest event runs
    the query again; one asking about a kept event does not."""
    asked: list[object] = []
    membership = matching._membership  # pyright: ignore[reportPrivateUsage]

    def counted(
        model: type[Any], using: str, pk: object, querysets: dict[str, QuerySet[Any]]
    ) -> dict[str, bool]:
        asked.append(pk)
        return membership(model, using, pk, querysets)

    monkeypatch.setattr(matching, "_membership", counted)
    task = await db.run(Task.objects.create, title="milk")
    queryset = Task.objects.filter(title__contains="mi")
    shared = Fallbacks(kept=2)
    shared.add(queryset, "k")
    for version in (1, 2, 3):
        assert await shared.contains(queryset, "k", ("g", version), task.pk) is True
    assert await shared.contains(queryset, "k", ("g", 3), task.pk) is True  # kept
    assert await shared.contains(queryset, "k", ("g", 1), task.pk) is True  # asked again
    assert asked == [task.pk] * 4
    assert list(shared.answers) == [("g", 3), ("g", 1)]
