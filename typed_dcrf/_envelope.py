"""Frames in and replies out: decoding client frames, encoding envelopes, and the framing of
multiplexed streams."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii  # json.dumps's own, for one string
from typing import Protocol, cast

from pydantic_core import to_json, to_jsonable_python

from typed_dcrf.exceptions import ParseError
from typed_dcrf.types import Envelope, ErrorList, JSONObject, JSONValue

# A JSON escape of a UTF-16 surrogate; a lone one decodes to a str that cannot be sent back.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class NonFiniteFloatError(ValueError):
    """JSON text or data holds ``inf`` or ``NaN``, which JSON cannot carry."""


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400: a float JSON cannot carry back
        raise NonFiniteFloatError(f"{literal} is not a finite number.")
    return value


def _reject_constant(name: str) -> object:
    raise NonFiniteFloatError(f"{name} is not JSON.")


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)
"""One decoder for every frame (``json.loads`` with these arguments builds one per call)."""


def parse_json(text: str | bytes) -> JSONValue:
    """``text`` (UTF-8 if bytes) as a JSON value: ``ValueError`` if it is not JSON,
    ``NonFiniteFloatError`` (a ``ValueError``) if it holds ``NaN``, ``Infinity`` or a number no
    float holds."""
    return cast("JSONValue", _DECODER.decode(text if isinstance(text, str) else text.decode()))


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


class FrameLimits(Protocol):
    """The limits a frame is decoded within (``typed_dcrf.conf.Settings`` has them)."""

    @property
    def max_frame_bytes(self) -> int: ...
    @property
    def max_nesting(self) -> int: ...


def decode_frame(text: str | None, limits: FrameLimits) -> JSONObject:
    """The client frame as a JSON object, or a ``ParseError`` saying what is wrong with it."""
    max_bytes, max_nesting = limits.max_frame_bytes, limits.max_nesting
    if text is None:
        raise ParseError("Binary frames are not supported; send JSON text frames.")
    # A str is at most 4 UTF-8 bytes per character: only long frames need encoding.
    if len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ParseError(f"A frame may be at most {max_bytes} bytes.")
    try:
        frame = parse_json(text)
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
            json.dumps(frame, ensure_ascii=False).encode()  # raises on a lone surrogate
    except (ValueError, RecursionError):
        raise ParseError("Malformed JSON.") from None
    if not isinstance(frame, dict):
        raise ParseError("A frame must be a JSON object.")
    decoded = frame
    # Only a frame with enough brackets can be too deep: most frames skip the walk.
    if text.count("[") + text.count("{") > max_nesting and _depth(decoded) > max_nesting:
        raise ParseError(f"A frame may nest at most {max_nesting} levels of arrays and objects.")
    return decoded


def check_finite(encoded: bytes) -> None:
    """Raise ``NonFiniteFloatError`` if JSON ``encoded`` with ``Infinity``/``NaN`` constants
    holds one (a cheap scan; only text that mentions them is parsed)."""
    if (b"Infinity" in encoded or b"NaN" in encoded) and _has_constant(encoded):
        raise NonFiniteFloatError("inf or NaN cannot be sent as JSON.")


def check_finite_values(value: object) -> None:
    """Raise ``NonFiniteFloatError`` if ``value`` (plain Python data: dicts, lists, tuples,
    numbers) holds an infinity or NaN."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            if not math.isfinite(node):
                raise NonFiniteFloatError(f"{node} cannot be sent as JSON.")
        elif isinstance(node, dict):
            stack.extend(cast("dict[object, object]", node).values())
        elif isinstance(node, list | tuple | set | frozenset):
            stack.extend(cast("Iterable[object]", node))


def _has_constant(encoded: bytes) -> bool:
    try:
        parse_json(encoded)
    except NonFiniteFloatError:
        return True
    return False


def encode(value: object) -> str:
    """Any value pydantic can serialize (JSON values, dataclasses, models, dates...) as JSON;
    ``NonFiniteFloatError`` if it holds inf or NaN (a pydantic model's own config would send
    them as null: the plain form is searched)."""
    plain = to_jsonable_python(value)
    check_finite_values(plain)
    return to_json(plain).decode()


def success(action: str | None, request_id: JSONValue, status: int, data_json: str) -> str:
    """A success reply, around ``data`` already serialized as JSON."""
    return (
        f'{{"errors":[],"data":{data_json},"action":{_json(action)},'
        f'"response_status":{status},"request_id":{_json(request_id)}}}'
    )


def _json(value: JSONValue) -> str:
    """``json.dumps(value)``, without building an encoder for a string or an integer."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if type(value) is int:  # not a bool
        return str(value)
    return json.dumps(value)


def with_key(frame: str, key: str, value: JSONValue) -> str:
    """``frame`` (a JSON object's text) with one more key, at its end."""
    return f"{frame[:-1]},{_json(key)}:{_json(value)}}}"


def failure(
    action: str | None,
    request_id: JSONValue,
    status: int,
    errors: ErrorList,
    data: JSONValue = None,
) -> str:
    """An error reply: the messages in ``errors``, ``data`` null (or what it says of the error:
    a throttled reply's wait)."""
    envelope: Envelope = {
        "errors": errors,
        "data": data,
        "action": action,
        "response_status": status,
        "request_id": request_id,
    }
    return json.dumps(envelope)


def multiplexed(stream: str, frame: str) -> str:
    """``frame`` (JSON text) as the ``payload`` of a frame of ``stream``."""
    return f'{{"stream":{_json(stream)},"payload":{frame}}}'
