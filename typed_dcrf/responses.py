"""``Response[T]``: what an action returns.

An immutable pair of data and a 2xx status. Failures are exceptions, never responses, so a
``Response`` is always a success; the action's compiled serializer turns ``data`` into JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeAlias, TypeVar

T = TypeVar("T", covariant=True)
D = TypeVar("D")

SuccessStatus: TypeAlias = Literal[200, 201, 202, 203, 204, 205, 206, 207, 208, 226]
"""The statuses a ``Response`` may carry: a failure is an exception, never a response (a
status from elsewhere, an ``int``, is checked when the response is made)."""


@dataclass(frozen=True, slots=True)
class Response(Generic[T]):
    """A successful reply carrying ``data`` with a 2xx ``status``."""

    data: T
    status: SuccessStatus = 200

    def __post_init__(self) -> None:
        if not 200 <= self.status < 300:
            msg = f"Response status must be 2xx, got {self.status}; raise an APIError for failures."
            raise ValueError(msg)

    @staticmethod
    def ok(data: D) -> Response[D]:
        """200 OK."""
        return Response(data, 200)

    @staticmethod
    def created(data: D) -> Response[D]:
        """201 Created."""
        return Response(data, 201)

    @staticmethod
    def accepted(data: D) -> Response[D]:
        """202 Accepted."""
        return Response(data, 202)

    @staticmethod
    def no_content() -> Response[None]:
        """204 No Content, with ``data`` null."""
        return Response(None, 204)
