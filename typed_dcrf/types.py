"""Type aliases shared across typed_dcrf: JSON values, frames and scopes.

A leaf module: it imports nothing from the package, so every other module may import it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from typing_extensions import TypeAliasType, TypedDict

if TYPE_CHECKING:
    JSONValue: TypeAlias = (
        "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
    )
else:
    # The same alias in the form pydantic resolves (type checkers prefer the classic one).
    JSONValue = TypeAliasType(
        "JSONValue", bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
    )
"""Any value a JSON text frame can carry (usable in action signatures too)."""

JSONObject: TypeAlias = dict[str, JSONValue]
"""A decoded JSON object, such as one client frame."""

ErrorList: TypeAlias = list[JSONValue]
"""The ``errors`` member of a reply: ``["message"]`` or ``[{"field": ["message"]}]``."""

# The ASGI scope is a heterogeneous mapping whose extra keys (user, session, url_route)
# are set by middleware; its values are untyped by the ASGI spec, so Any is accurate here.
Scope: TypeAlias = Mapping[str, Any]

# An ASGI event's keys and their types depend on its "type": Any, as for the scope.
ASGIMessage: TypeAlias = Mapping[str, Any]
"""An ASGI event, such as ``{"type": "websocket.send", "text": ...}``."""
Receive: TypeAlias = Callable[[], Awaitable[ASGIMessage]]
Send: TypeAlias = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application, such as ``Consumer.as_asgi()``."""


class Envelope(TypedDict):
    """One reply frame, exactly as the wire protocol defines it (five keys)."""

    errors: ErrorList
    data: JSONValue
    action: str | None
    response_status: int
    request_id: JSONValue
