"""``defined_by``: which class of a hierarchy gives a class its attribute."""

from __future__ import annotations

import pytest

from typed_dcrf._overrides import defined_by


class Base:
    def hook(self) -> str:
        return "base"

    def other(self) -> str:
        return "base"


class Overriding(Base):
    def hook(self) -> str:
        return "overriding"


class Inheriting(Overriding):
    pass


def test_the_nearest_class_defining_the_attribute_is_found() -> None:
    assert defined_by(Inheriting, "hook") is Overriding
    assert defined_by(Inheriting, "other") is Base
    assert defined_by(Base, "hook") is Base


def test_an_attribute_no_class_defines_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"^Inheriting has no attribute 'missing'$"):
        defined_by(Inheriting, "missing")
