"""Frames in and replies out: JSON decoding of client frames and encoding of the envelope."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import cast

from typed_dcrf.exceptions import ParseError
from typed_dcrf.types import Envelope, ErrorList, JSONObject, JSONValue

# A JSON escape of a UTF-16 surrogate; a lone one decodes to a str that cannot be sent back.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400: a float JSON cannot carry back
        raise ValueError(literal)
    return value


def _reject_constant(name: str) -> object:
    raise ValueError(name)  # NaN and Infinity are not JSON


def _depth(value: object) -> int:
    """How deeply arrays and objects nest in ``value`` (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children: Iterable[object]
        if isinstance(node, dict):
            children = cast("dict[str, object]", node).values()
        elif isinstance(node, list):
            children = cast("list[object]", node)
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def decode_frame(text: str | None, *, max_nesting: int) -> JSONObject:
    """The client frame as a JSON object, or a ``ParseError``."""
    if text is None:
        raise ParseError("Binary frames are not supported; send JSON text frames.")
    try:
        frame = json.loads(text, parse_float=_finite_float, parse_constant=_reject_constant)
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
            json.dumps(frame, ensure_ascii=False).encode()  # raises on a lone surrogate
    except (ValueError, RecursionError):
        raise ParseError("Malformed JSON.") from None
    if not isinstance(frame, dict):
        raise ParseError("A frame must be a JSON object.")
    decoded = cast("JSONObject", frame)
    # Only a frame with enough brackets can be too deep: most frames skip the walk.
    if text.count("[") + text.count("{") > max_nesting and _depth(decoded) > max_nesting:
        raise ParseError(f"A frame may nest at most {max_nesting} levels of arrays and objects.")
    return decoded


def success(action: str, request_id: JSONValue, status: int, data_json: str) -> str:
    """A success reply, around ``data`` already serialized by the action's serializer."""
    return (
        f'{{"errors":[],"data":{data_json},"action":{json.dumps(action)},'
        f'"response_status":{status},"request_id":{json.dumps(request_id)}}}'
    )


def failure(action: str | None, request_id: JSONValue, status: int, errors: ErrorList) -> str:
    """An error reply: ``data`` null, the messages in ``errors``."""
    envelope: Envelope = {
        "errors": errors,
        "data": None,
        "action": action,
        "response_status": status,
        "request_id": request_id,
    }
    return json.dumps(envelope)
