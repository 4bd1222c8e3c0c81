"""typed_dcrf._lookups: the type a lookup argument is validated as, from its model field."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.db import models
from pydantic import TypeAdapter, ValidationError

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf._lookups import LenientStr, field_type, model_field, model_of

COMMON_FIELDS: list[tuple[models.Field[Any, Any], object]] = [
    (models.BigAutoField(primary_key=True), int),
    (models.SmallIntegerField(), int),
    (models.BooleanField(), bool),
    (models.UUIDField(), uuid.UUID),
    (models.SlugField(), LenientStr),
    (models.TextField(), LenientStr),
    (models.DateTimeField(), datetime.datetime),
    (models.DateField(), datetime.date),
    (models.DecimalField(), decimal.Decimal),
    (models.FloatField(), float),
]
"""Fields and the Python type their lookup values are validated as."""


@pytest.mark.parametrize(
    ("field", "expected"), COMMON_FIELDS, ids=[type(field).__name__ for field, _ in COMMON_FIELDS]
)
def test_common_fields_map_to_python_types(
    field: models.Field[object, object], expected: object
) -> None:
    """Common fields validate as the Python type of their values."""
    assert field_type(field) is expected


def adapter_for(field: object) -> TypeAdapter[object]:
    """A validator for lookup values of ``field``."""
    # field_type returns a runtime type form, which only pydantic reads.
    return TypeAdapter[object](cast("type[object]", field_type(field)))


def test_string_fields_take_integers_as_strings() -> None:
    """As DCRF did, a slug sent as a number is looked up as its string."""
    slug: models.Field[Any, Any] = models.SlugField()
    adapter = adapter_for(slug)
    assert adapter.validate_python(3) == "3"
    with pytest.raises(ValidationError):
        adapter.validate_python(True)


def test_a_foreign_key_takes_its_targets_type() -> None:
    """A foreign key's lookup value is its target's primary key type."""
    assert field_type(model_field(Item, "owner")) is int


def test_other_fields_are_parsed_by_their_to_python() -> None:
    """A field without a Python type of its own is parsed by its to_python, in Django's words."""
    duration: models.Field[Any, Any] = models.DurationField()
    adapter = adapter_for(duration)
    assert adapter.validate_python("00:01:30") == datetime.timedelta(seconds=90)
    with pytest.raises(ValidationError, match="must be in \\[DD\\] \\[\\[HH:\\]MM:\\]ss"):
        adapter.validate_python("soon")


def test_a_reverse_relation_is_left_to_the_orm() -> None:
    """A reverse relation is no Field: any JSON value goes through, for the ORM to judge."""
    adapter = adapter_for(model_field(User, "items"))
    assert adapter.validate_python([1, "a"]) == [1, "a"]


def test_model_of_querysets_managers_and_serializers() -> None:
    """model_of reads a queryset's, a manager's or a model serializer's model."""
    assert model_of(Item.objects.all()) is Item
    assert model_of(Item.objects) is Item
    assert model_of(ItemSerializer) is Item
    assert model_of(object()) is None
