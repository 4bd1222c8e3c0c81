"""``SharedSerializer``: a DRF serializer's instances reused for output, their fields built once.

DRF builds a serializer's fields for every instance (a ``ModelSerializer`` reads its model's
options and deep-copies its declared fields: most of what a one-row serializer costs). Output
needs none of that per call: each thread keeps one instance of the class (and one with
``many=True``), given the call's ``instance`` and ``context`` for the call, and each row is
written as DRF's ``Serializer.to_representation`` writes it, by the same fields, with three
shortcuts that give the same values: a column of the model is read with ``getattr``, a field
whose ``to_representation`` is DRF's ``str``/``int``/``float`` of the value is that builtin, and
a list's datetime fields read the current time zone once, not once a row.

A serializer that builds its fields itself (``__init__``, ``get_fields``, ``fields`` or
``many_init`` defined outside DRF, on it or on a serializer declared in it) is never shared:
its fields may depend on its arguments.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Any, NamedTuple, TypeGuard, cast

from django.db.models import Model
from django.db.models.manager import BaseManager
from rest_framework.fields import (
    CharField,
    DateTimeField,
    Field,
    FloatField,
    IntegerField,
    SkipField,
)
from rest_framework.relations import PKOnlyObject
from rest_framework.serializers import BaseSerializer, ListSerializer, Serializer

from typed_dcrf._overrides import defined_by

AnyField = Field[Any, Any, Any, Any]
Row = Callable[[Any], dict[str, Any]]

# DRF's fields whose own to_representation is exactly this builtin of the value.
_BUILTINS: Mapping[type, Callable[[Any], object]] = {
    CharField: str,
    IntegerField: int,
    FloatField: float,
}

# What DRF's serializers build their fields with; a class outside DRF defining one builds its own.
_BUILDERS = ("__init__", "__new__", "get_fields", "fields", "many_init")


class _Instances(NamedTuple):
    """One thread's serializers of a class, and how each writes a row."""

    one: BaseSerializer[Any]
    row: Row
    many: ListSerializer[Any]
    many_row: Row | None  # None: the list serializer's own to_representation
    clocks: tuple[DateTimeField, ...]  # many_row's datetime fields on the current time zone


class SharedSerializer:
    """A serializer class's output, its fields built once per thread."""

    def __init__(self, serializer_class: type[BaseSerializer[Any]]) -> None:
        self._class = serializer_class
        self._local = threading.local()

    def one(self, instance: object, context: dict[str, Any]) -> dict[str, Any]:
        """``serializer_class(instance, context=context).data``, as a plain dict."""
        instances = self._instances()
        saved = _give(instances.one, instance, context)
        try:
            return instances.row(instance)
        finally:
            _give(instances.one, *saved)

    def many(self, rows: Iterable[Any], context: dict[str, Any]) -> list[dict[str, Any]]:
        """``serializer_class(rows, many=True, context=context).data``, as a plain list."""
        instances = self._instances()
        saved = _give(instances.many, rows, context)
        # Each row's datetimes would look the time zone up again (a thread-local read): it is
        # read once per call, and given as DRF's own `default_timezone=` argument would give it
        # (through vars: DRF's stubs type default_timezone() as a str, timezone as never None).
        for field in instances.clocks:
            vars(field)["timezone"] = field.default_timezone()
        try:
            if instances.many_row is None:
                written: list[dict[str, Any]] = instances.many.to_representation(rows)
                return written
            write = instances.many_row
            # DRF's ListSerializer takes a manager's rows too.
            found = cast("Iterable[Any]", rows.all()) if isinstance(rows, BaseManager) else rows
            return [write(row) for row in found]
        finally:
            _give(instances.many, *saved)

    @property
    def serializer(self) -> BaseSerializer[Any]:
        """This thread's instance (what DRF's ``ReturnDict.serializer`` names)."""
        return self._instances().one

    def _instances(self) -> _Instances:
        instances: _Instances | None = getattr(self._local, "instances", None)
        if instances is None:
            one = self._class()
            many = cast("ListSerializer[Any]", self._class(many=True))
            child = cast("BaseSerializer[Any]", _serializer_in(many))
            own_writer = defined_by(type(many), "to_representation") is ListSerializer
            many_row = _row_writer(child) if own_writer else None
            clocks = _clocks(child) if many_row else ()
            instances = _Instances(one, _row_writer(one), many, many_row, clocks)
            self._local.instances = instances
        return instances


def _give(serializer: BaseSerializer[Any], instance: Any, context: dict[str, Any]) -> _Given:
    """Give ``serializer`` the call's ``instance`` and ``context`` (DRF's own attributes for
    them); return those it had (a serializer's method may serialize with the same class)."""
    saved = _Given(serializer.instance, serializer._context)
    serializer.instance, serializer._context = instance, context
    return saved


class _Given(NamedTuple):
    instance: Any
    context: dict[str, Any]


_shared: dict[type[BaseSerializer[Any]], SharedSerializer | None] = {}
_lock = threading.Lock()


def shared_serializer(serializer_class: type[BaseSerializer[Any]]) -> SharedSerializer | None:
    """The shared output of ``serializer_class``; ``None`` where it builds its own fields."""
    try:
        return _shared[serializer_class]
    except KeyError:
        pass
    with _lock:
        if serializer_class not in _shared:
            sharable = _builds_fields_as_drf(serializer_class, set())
            _shared[serializer_class] = SharedSerializer(serializer_class) if sharable else None
        return _shared[serializer_class]


def _builds_fields_as_drf(serializer_class: type, seen: set[type]) -> bool:
    """Whether ``serializer_class`` and the serializers declared in it leave building their
    fields to DRF."""
    seen.add(serializer_class)
    for klass in serializer_class.__mro__:
        if klass.__module__.startswith("rest_framework."):
            break
        if any(name in vars(klass) for name in _BUILDERS):
            return False
    declared: Mapping[str, AnyField] = getattr(serializer_class, "_declared_fields", {})
    for field in declared.values():
        nested = _serializer_in(field)
        unseen = nested is not None and type(nested) not in seen
        if unseen and not _builds_fields_as_drf(type(nested), seen):
            return False
    return True


def _serializer_in(field: object) -> BaseSerializer[Any] | None:
    """The serializer ``field`` is, or lists (``many=True``)."""
    if isinstance(field, ListSerializer):
        return _serializer_in(getattr(cast("object", field), "child", None))
    return field if _is_serializer(field) else None


def _is_serializer(value: object) -> TypeGuard[BaseSerializer[Any]]:
    return isinstance(value, BaseSerializer)


def _row_writer(serializer: BaseSerializer[Any]) -> Row:
    """``serializer.to_representation``, or, where that is DRF's ``Serializer``'s, the same
    loop over the same fields, compiled."""
    if defined_by(type(serializer), "to_representation") is not Serializer:
        return cast("Row", serializer.to_representation)
    fields = _fields(serializer)
    model: type[Model] | None = getattr(getattr(serializer, "Meta", None), "model", None)
    steps = [_step(field, model) for field in fields if not field.write_only]

    def row(instance: object) -> dict[str, Any]:
        if model is not None and not isinstance(instance, model):
            return cast("dict[str, Any]", serializer.to_representation(instance))
        written: dict[str, Any] = {}
        for name, get, represent in steps:
            try:
                value = get(instance)
            except SkipField:
                continue
            is_none = (value.pk if isinstance(value, PKOnlyObject) else value) is None
            written[name] = None if is_none else represent(value)
        return written

    return row


def _clocks(serializer: BaseSerializer[Any]) -> tuple[DateTimeField, ...]:
    """The readable datetime fields of ``serializer`` that find their time zone as DRF's own
    ``DateTimeField`` does, per value: ``default_timezone()``, where no ``timezone`` is set."""
    fields = _fields(serializer)
    return tuple(
        field
        for field in fields
        if isinstance(field, DateTimeField)
        and not field.write_only
        and "timezone" not in vars(field)
        and defined_by(type(field), "enforce_timezone") is DateTimeField
    )


def _fields(serializer: BaseSerializer[Any]) -> Iterable[AnyField]:
    """The fields of ``serializer`` (a ``Serializer``: DRF's stubs leave their types open)."""
    return cast("Mapping[str, AnyField]", cast("Serializer[Any]", serializer).fields).values()


def _step(
    field: AnyField, model: type[Model] | None
) -> tuple[str, Callable[[Any], Any], Callable[[Any], Any]]:
    """How ``field`` is read from an instance of ``model`` and written: its name, getter and
    writer."""
    get: Callable[[Any], Any] = field.get_attribute
    if model is not None and _is_column(field, model):
        get = attrgetter(field.source_attrs[0])
    builtin = _BUILTINS.get(defined_by(type(field), "to_representation"))
    return cast("str", field.field_name), get, builtin or field.to_representation


def _is_column(field: AnyField, model: type[Model]) -> bool:
    """Whether ``field`` reads one concrete, non-relational field of ``model`` as DRF's
    ``Field.get_attribute`` does (by ``getattr``: such a value is never a callable to call)."""
    if defined_by(type(field), "get_attribute") is not Field or len(field.source_attrs) != 1:
        return False
    column = next((f for f in model._meta.concrete_fields if f.name == field.source_attrs[0]), None)
    return column is not None and not column.is_relation
