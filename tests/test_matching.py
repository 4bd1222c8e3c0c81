"""Matching in memory: a queryset's WHERE, where it can be read, answers for each row exactly as
the database does (NULLs included), and is left to the database where it cannot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from tests.app.models import Task
from typed_dcrf import db
from typed_dcrf._matching import compile_filter

pytestmark = pytest.mark.django_db(transaction=True)

Build = Callable[[QuerySet[Task], User], QuerySet[Task]]

READABLE: dict[str, Build] = {
    "all": lambda qs, user: qs,
    "exact": lambda qs, user: qs.filter(done=True),
    "text exact": lambda qs, user: qs.filter(title="b"),
    "gte": lambda qs, user: qs.filter(rank__gte=2),
    "lt and exact": lambda qs, user: qs.filter(rank__lt=3, done=False),
    "range": lambda qs, user: qs.filter(rank__range=(1, 2)),
    "in": lambda qs, user: qs.filter(title__in=["a", "c"]),
    "empty in": lambda qs, user: qs.filter(pk__in=[]),
    "foreign key": lambda qs, user: qs.filter(owner=user),
    "foreign key id": lambda qs, user: qs.filter(owner_id=user.pk),
    "isnull": lambda qs, user: qs.filter(owner__isnull=True),
    "exclude, nullable": lambda qs, user: qs.exclude(owner=user),
    "or": lambda qs, user: qs.filter(Q(done=True) | Q(rank__gt=2)),
    "not or": lambda qs, user: qs.filter(~(Q(done=True) | Q(owner=user))),
    "none": lambda qs, user: qs.none(),
    "chained": lambda qs, user: qs.filter(done=False).filter(rank__lte=1).exclude(title="a"),
}

UNREADABLE: dict[str, Build] = {
    "a join": lambda qs, user: qs.filter(owner__username="alice"),
    "a text pattern": lambda qs, user: qs.filter(title__contains="a"),
    "a text order": lambda qs, user: qs.filter(title__gt="a"),
    "a function": lambda qs, user: qs.filter(Exact(Lower("title"), "a")),
    "an expression": lambda qs, user: qs.filter(rank__gt=F("id")),
    "an annotation": lambda qs, user: qs.annotate(low=Lower("title")).filter(low="a"),
    "a slice": lambda qs, user: qs.all()[:2],
    "a union": lambda qs, user: qs.filter(done=True).union(qs.filter(rank=1)),
    "raw SQL": lambda qs, user: qs.extra(where=["rank > 1"]),
    "JSON null": lambda qs, user: qs.filter(meta=None),
    "JSON isnull": lambda qs, user: qs.filter(meta__isnull=True),
    "JSON equality": lambda qs, user: qs.filter(meta={"a": 1}),
    "xor (NULL's meaning differs by database)": lambda qs, user: qs.filter(
        Q(owner=user) ^ Q(done=True)
    ),
}


def rows_and_user() -> tuple[list[Task], User]:
    alice = User.objects.create(username="alice")
    bob = User.objects.create(username="bob")
    tasks = [
        Task.objects.create(title=title, done=done, rank=rank, owner=owner)
        for title in ("a", "b", "c")
        for done in (False, True)
        for rank, owner in ((0, None), (1, alice), (2, bob), (3, None))
    ]
    return tasks, alice


def answers(build: Build) -> tuple[list[bool], list[bool]]:
    """For every row, the database's answer and the compiled test's."""
    tasks, alice = rows_and_user()
    queryset = build(Task.objects.all(), alice)
    test = compile_filter(queryset)
    assert test is not None
    in_database = set(queryset.values_list("pk", flat=True))
    return [task.pk in in_database for task in tasks], [test(task) for task in tasks]


@pytest.mark.parametrize("build", READABLE.values(), ids=READABLE.keys())
async def test_a_readable_filter_answers_as_the_database(build: Build) -> None:
    """Each readable filter gives, for each of 24 rows, the database's answer."""
    database, memory = await db.run(answers, build)
    assert memory == database


@pytest.mark.parametrize("build", UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_what_memory_cannot_decide_is_left_to_the_database(build: Build) -> None:
    """Joins, text patterns and text order (collations decide), functions, expressions,
    annotations, slices, unions, raw SQL, XOR and JSON fields are not compiled."""

    def compiled() -> Any:
        alice = User.objects.create(username="alice")
        return compile_filter(build(Task.objects.all(), alice))

    assert await db.run(compiled) is None
