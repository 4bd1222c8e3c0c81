"""Frames in and replies out: JSON decoding of client frames and encoding of the envelope."""

from __future__ import annotations

import json
from typing import cast

from typed_dcrf.exceptions import ParseError
from typed_dcrf.types import Envelope, ErrorList, JSONObject, JSONValue


def decode_frame(text: str | None) -> JSONObject:
    """The client frame as a JSON object, or a ``ParseError``."""
    if text is None:
        raise ParseError("Binary frames are not supported; send JSON text frames.")
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        raise ParseError("Malformed JSON.") from None
    if not isinstance(frame, dict):
        raise ParseError("A frame must be a JSON object.")
    return cast("JSONObject", frame)


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
