"""Reading an AsyncAPI document of ``typed_dcrf.schema`` back: its references, and a message's
envelope out of its stream's wrapper (what ``breaking`` and ``typescript`` both read)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

Document: TypeAlias = Mapping[str, Any]
"""An AsyncAPI document as JSON (``asyncapi_document``'s output, or one read back)."""
Schema: TypeAlias = Mapping[str, Any]


def resolve(document: Document, schema: Schema) -> Schema:
    """``schema``, or what its local ``$ref`` points to."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return resolve(document, target)


def message_envelope(document: Document, message: Schema) -> Schema:
    """The envelope a message (or a reference to one) carries: its payload, inside the
    ``{"stream", "payload"}`` wrapping of a multiplexed route's."""
    payload: Schema = resolve(document, message)["payload"]
    if "stream" in payload.get("properties", {}):
        payload = payload["properties"]["payload"]
    return payload
