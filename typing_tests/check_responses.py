"""`Response[T]`: the constructors' types, the read-only fields, and covariance in `T`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_type

from typed_dcrf import Response, SuccessStatus


@dataclass
class Item:
    pk: int


assert_type(Response.ok(1), Response[int])
assert_type(Response.ok("a"), Response[str])
assert_type(Response.ok([Item(1)]), Response[list[Item]])
assert_type(Response.created(Item(1)), Response[Item])
assert_type(Response.accepted({"job": 1}), Response[dict[str, int]])
assert_type(Response.no_content(), Response[None])
assert_type(Response(Item(1)), Response[Item])
assert_type(Response(Item(1), status=201), Response[Item])
assert_type(Response.ok(Item(1)).data, Item)
assert_type(Response.no_content().data, None)
assert_type(Response.created(1).status, SuccessStatus)

# The declared return type of an action drives inference of the constructors' argument.
declared: Response[float] = Response.ok(1)
optional: Response[Item | None] = Response.ok(None)
empty: Response[list[int]] = Response.ok([])

# Covariant: a Response of a subtype is a Response of its supertype.
narrow: Response[bool] = Response.ok(True)
widened: Response[int] = narrow
as_object: Response[object] = Response.created(Item(1))
union: Response[int | str] = Response.ok("a")
