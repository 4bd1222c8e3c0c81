"""Model facts the generic consumers read at class creation: a lookup field, the Python type
its argument is validated as, and a serializer's model."""

from __future__ import annotations

import datetime
import decimal
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, cast

import typing_extensions
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from typed_dcrf.types import JSONValue


def _integer_to_str(value: object) -> object:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


NULL_CHARACTERS = "Null characters are not allowed."
"""DRF's CharField's words for a string holding NUL, which PostgreSQL cannot store or compare."""


def _no_null_characters(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("null_characters", NULL_CHARACTERS)
    return value


def _no_null_characters_within(value: object) -> object:
    """``value``, refused if a string in it (in lists, tuples, sets and dicts too) holds NUL."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            _no_null_characters(node)
        elif isinstance(node, Mapping):
            items = cast("Mapping[object, object]", node)
            stack.extend([*items.keys(), *items.values()])
        elif isinstance(node, list | tuple | set | frozenset):
            stack.extend(cast("Iterable[object]", node))
    return value


_WITHOUT_NULL_CHARACTERS = AfterValidator(_no_null_characters_within)


def without_null_characters(annotation: object) -> object:
    """``annotation`` (``NotRequired`` or not) refusing strings that hold NUL: for arguments
    that filter a queryset, as DRF's query filters refuse them (PostgreSQL cannot compare them)."""
    if typing.get_origin(annotation) is typing_extensions.NotRequired:
        (inner,) = typing.get_args(annotation)
        return typing_extensions.NotRequired[without_null_characters(inner)]
    return Annotated[annotation, _WITHOUT_NULL_CHARACTERS]


LenientStr = Annotated[str, BeforeValidator(_integer_to_str), AfterValidator(_no_null_characters)]
"""A string, or an integer taken as one: DCRF clients send `{"slug": 3}` for slug "3"; without
NUL characters (on PostgreSQL, a query holding one fails), as DRF's CharField refuses them."""

# Auto fields are IntegerFields, slugs and emails CharFields; a DateTimeField is a DateField.
_FIELD_TYPES: tuple[tuple[type[models.Field[Any, Any]], object], ...] = (
    (models.BooleanField, bool),
    (models.IntegerField, int),
    (models.UUIDField, uuid.UUID),
    (models.DateTimeField, datetime.datetime),
    (models.DateField, datetime.date),
    (models.DecimalField, decimal.Decimal),
    (models.FloatField, float),
    (models.CharField, LenientStr),
    (models.TextField, LenientStr),
)


def model_field(model: type[models.Model], name: str) -> object:
    """The field ``name`` of ``model`` (``"pk"``: its primary key); ``FieldDoesNotExist``."""
    # django-stubs leave the fields' value types unknown; the field's class is what is used.
    meta = model._meta
    if name == "pk":
        return meta.pk  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return meta.get_field(name)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def model_of(source: object) -> type[models.Model] | None:
    """The model of a queryset, a manager or a model serializer class, else ``None``."""
    model = getattr(source, "model", None) or getattr(getattr(source, "Meta", None), "model", None)
    return model if isinstance(model, type) and issubclass(model, models.Model) else None


def field_type(field: object) -> object:
    """A pydantic type for values of ``field``: a foreign key takes its target's type, other
    fields are parsed by their own ``to_python``, and anything else is left to the ORM."""
    if isinstance(field, models.ForeignKey):
        # django-stubs leave the target field's value types unknown; only its class matters.
        return field_type(field.target_field)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    for field_class, python_type in _FIELD_TYPES:
        if isinstance(field, field_class):
            return python_type
    if isinstance(field, models.Field):
        return Annotated[JSONValue, AfterValidator(_to_python(field))]  # pyright: ignore[reportUnknownArgumentType]
    return JSONValue


def _to_python(field: models.Field[Any, Any]) -> Callable[[JSONValue], object]:
    def convert(value: JSONValue) -> object:
        if isinstance(value, str):
            _no_null_characters(value)
        try:
            return field.to_python(value)
        except DjangoValidationError as exc:
            raise ValueError(" ".join(str(message) for message in exc.messages)) from None

    return convert
