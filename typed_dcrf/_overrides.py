"""``defined_by``: which class of a hierarchy gives a class its attribute (to tell whether an
override replaced a hook whose default a fast path relies on)."""

from __future__ import annotations


def defined_by(cls: type, name: str) -> type:
    """The first class in ``cls``'s MRO that defines ``name`` (``TypeError`` where none does)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    msg = f"{cls.__qualname__} has no attribute {name!r}"
    raise TypeError(msg)
