"""Whether a changed row is in a list subscription's set: in memory where the queryset's WHERE
can be evaluated on the row's fields, otherwise with one query per event for all of a process's
subscriptions.

``compile_filter`` reads the queryset's WHERE tree once, at subscribe: comparisons of the
model's own columns with plain values (``exact``, ``in``, ``isnull``, ``range``, and ``gt``/
``gte``/``lt``/``lte`` on columns that are not text, whose order the database's collation
decides) under ``AND``/``OR``/``NOT``, with SQL's three-valued logic for ``NULL``. Anything else
(a join, a transform, an expression, a text pattern, ``XOR``) leaves it to ``Fallbacks``, which
asks the database once per event whether the row is in each distinct queryset.
"""

from __future__ import annotations

import asyncio
import operator
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    DecimalField,
    Exists,
    Field,
    FloatField,
    ForeignKey,
    IntegerField,
    Model,
    OuterRef,
    QuerySet,
    TextField,
    TimeField,
    UUIDField,
)
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.where import AND, OR, NothingNode, WhereNode

from typed_dcrf import db

Truth: TypeAlias = bool | None
"""SQL's three values: true, false, and unknown (a comparison with NULL)."""

Test: TypeAlias = Callable[[Model], Truth]

Predicate: TypeAlias = Callable[[Model], bool]
"""Whether a row (rebuilt from an event's facts) is in the set."""

_ORDERED = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}

_SCALAR = (
    BooleanField,
    CharField,
    DateField,  # DateTimeField too
    DecimalField,
    FloatField,
    ForeignKey,  # OneToOneField too: its column holds the related key
    IntegerField,  # the auto and other integer fields too
    TextField,
    TimeField,
    UUIDField,
)
"""The fields whose values compare in Python as in SQL (text: equality only)."""


def compile_filter(queryset: QuerySet[Any]) -> Predicate | None:
    """The queryset's WHERE as a test of one row, or ``None`` where memory cannot decide."""
    query = queryset.query
    base = cast("str | None", query.base_table)  # None before a table is named
    if base is None:  # no table named yet: only `.none()` and unfiltered querysets
        base = queryset.model._meta.db_table
    if query.combinator or query.is_sliced or query.extra:
        return None
    if any(count and alias != base for alias, count in query.alias_refcount.items()):
        return None  # a join still in use: rows of another table decide
    test = _node(query.where, base)
    if test is None:
        return None
    return lambda row: test(row) is True


def _node(node: WhereNode, base: str) -> Test | None:
    tests: list[Test] = []
    for child in node.children:
        test = _node(child, base) if isinstance(child, WhereNode) else _leaf(child, base)
        if test is None:
            return None
        tests.append(test)
    combine = _COMBINE.get(node.connector)
    if combine is None:
        return None
    negated = node.negated

    def evaluate(row: Model) -> Truth:
        value = combine([test(row) for test in tests])
        return value if not negated or value is None else not value

    return evaluate


def _all(values: Sequence[Truth]) -> Truth:
    if False in values:
        return False
    return None if None in values else True


def _any(values: Sequence[Truth]) -> Truth:
    if True in values:
        return True
    return None if None in values else False


# XOR is left to the database: databases without it (SQLite, PostgreSQL) have Django emulate
# it with a sum in which NULL counts as false, those with it give NULL.
_COMBINE: dict[str, Callable[[Sequence[Truth]], Truth]] = {AND: _all, OR: _any}


def _leaf(child: object, base: str) -> Test | None:
    if isinstance(child, NothingNode):
        return lambda row: False
    if not isinstance(child, Lookup):
        return None
    # isinstance cannot name a Lookup's type parameter, nor django-stubs a Col's field.
    lookup: Lookup[Any] = child  # pyright: ignore[reportUnknownVariableType]
    lhs: object = lookup.lhs
    rhs: object = lookup.rhs
    if not isinstance(lhs, Col) or lhs.alias != base or hasattr(rhs, "resolve_expression"):
        return None
    target: Field[Any, Any] = lhs.target  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if not isinstance(target, _SCALAR):
        return None  # JSON, arrays, ranges, binary...: the database's own comparisons
    attname = target.attname
    compare = _comparison(lookup.lookup_name, rhs, target)
    if compare is None:
        return None

    def test(row: Model) -> Truth:
        return compare(getattr(row, attname, None))

    return test


def _comparison(
    name: str | None, rhs: object, target: Field[Any, Any]
) -> Callable[[Any], Truth] | None:
    if name == "isnull":
        return lambda value: (value is None) is bool(rhs)
    if name == "exact":
        return lambda value: None if value is None else value == rhs
    if name == "in" and isinstance(rhs, Iterable) and not isinstance(rhs, str | bytes):
        allowed = list(cast("Iterable[object]", rhs))  # the prepared values
        return lambda value: None if value is None else value in allowed
    textual = isinstance(target, CharField | TextField)
    if name == "range" and not textual and isinstance(rhs, tuple | list):
        low, high = cast("tuple[Any, Any]", rhs)  # the prepared bounds
        return lambda value: None if value is None else bool(low <= value <= high)
    order = _ORDERED.get(name or "")
    if order is not None and not textual:
        bound: Any = rhs  # a prepared value of the column's type
        return lambda value: None if value is None else bool(order(value, bound))
    return None


@dataclass(eq=False)
class Fallbacks:
    """The querysets of a process's list subscriptions that memory cannot decide, by model and
    database; for one event, one query answers for all of them."""

    querysets: dict[str, QuerySet[Any]] = field(default_factory=dict[str, QuerySet[Any]])
    """By key: their SQL and parameters."""
    counts: Counter[str] = field(default_factory=Counter[str])
    """Subscriptions per key."""
    answers: OrderedDict[tuple[object, ...], asyncio.Future[dict[str, bool]]] = field(
        default_factory=OrderedDict[tuple[object, ...], asyncio.Future[dict[str, bool]]]
    )
    kept: int = 256
    """Events whose answers (or failures) are kept for the subscriptions that have not asked
    yet; a subscription that asks later than that runs the query again."""

    def add(self, queryset: QuerySet[Any], key: str) -> None:
        """Count a subscription of ``queryset`` (``key``: its SQL and parameters)."""
        self.querysets.setdefault(key, queryset)
        self.counts[key] += 1

    def remove(self, key: str) -> None:
        """Count one subscription of ``key`` less."""
        self.counts[key] -= 1
        if self.counts[key] <= 0:
            del self.counts[key]
            self.querysets.pop(key, None)

    async def contains(
        self, queryset: QuerySet[Any], key: str, event: tuple[object, ...], pk: object
    ) -> bool:
        """Whether the row ``pk`` is in ``queryset`` now; for one ``event`` (its group and
        version), the first subscription to ask runs the query for every queryset like it."""
        answer = self.answers.get(event)
        if answer is None:
            alike = {
                name: found
                for name, found in self.querysets.items()
                if found.model is queryset.model and found.db == queryset.db
            }
            alike[key] = queryset
            # A task of its own: an asker cancelled (its client gone) stops no other's answer.
            answer = asyncio.ensure_future(
                db.run(_membership, queryset.model, queryset.db, pk, alike)
            )
            answer.add_done_callback(_retrieved)
            self.answers[event] = answer
            while len(self.answers) > self.kept:
                self.answers.popitem(last=False)
        return (await asyncio.shield(answer)).get(key, False)


def _retrieved(answer: asyncio.Future[dict[str, bool]]) -> None:
    """Mark a failure as seen: each asker of the event gets it, and none may be left."""
    if not answer.cancelled():
        answer.exception()


def _membership(
    model: type[Model], using: str, pk: object, querysets: dict[str, QuerySet[Any]]
) -> dict[str, bool]:
    """For each queryset, whether the row ``pk`` is in it: one query."""
    names = {f"in_{index}": key for index, key in enumerate(querysets)}
    tests = {name: Exists(querysets[key].filter(pk=OuterRef("pk"))) for name, key in names.items()}
    row = model._base_manager.db_manager(using).filter(pk=pk).values(**tests).first()
    if row is None:
        return dict.fromkeys(querysets, False)
    return {key: bool(row[name]) for name, key in names.items()}


fallbacks = Fallbacks()
"""The process's querysets that are matched by the database."""
