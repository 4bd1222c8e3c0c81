"""``breaking_changes``: what a new AsyncAPI document (of ``typed_dcrf.schema``) breaks for the
clients of an old one: an action removed, an argument removed or newly required, an
argument's accepted values narrowed."""

from __future__ import annotations

import typing

from typed_dcrf._documents import Document, Schema, message_envelope, resolve

_UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum")
_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum")


def breaking_changes(old: Document, new: Document) -> list[str]:
    """Each change of ``new`` that a client written against ``old`` can fail on."""
    changes: list[str] = []
    for key, operation in old.get("operations", {}).items():
        if operation.get("action") != "receive":
            continue
        if key not in new.get("operations", {}):
            changes.append(f"{key}: the action was removed")
            continue
        before, after = _arguments(old, operation), _arguments(new, new["operations"][key])
        changes += [f"{key}: {change}" for change in _compare(old, before, new, after)]
    return changes


def _compare(old: Document, before: Schema, new: Document, after: Schema) -> list[str]:
    changes: list[str] = []
    was_required, required = set(before.get("required", [])), set(after.get("required", []))
    for name, accepted in before.get("properties", {}).items():
        if name not in after.get("properties", {}):
            changes.append(f"argument {name!r} was removed")
            continue
        narrowed = _narrowed(resolve(old, accepted), resolve(new, after["properties"][name]))
        changes += [f"argument {name!r} {change}" for change in narrowed]
    for name in sorted(required - was_required):
        is_new = name not in before.get("properties", {})
        changes.append(
            f"argument {name!r} {'was added without a default' if is_new else 'is now required'}"
        )
    return changes


def _narrowed(before: Schema, after: Schema) -> list[str]:
    """How ``after`` accepts less than ``before``: types, values and bounds."""
    changes: list[str] = []
    was, accepts = _types(before), _types(after)
    if accepts and not was:
        changes.append(f"no longer accepts anything but {', '.join(sorted(accepts))}")
    elif accepts and was - accepts:
        changes.append(f"no longer accepts {', '.join(sorted(was - accepts))}")
    if "enum" in after:
        dropped = [value for value in before.get("enum", []) if value not in after["enum"]]
        if dropped or "enum" not in before:
            changes.append(f"accepts only {after['enum']!r}")
    for bound in _UPPER_BOUNDS:
        if bound in after and (bound not in before or after[bound] < before[bound]):
            changes.append(f"has {bound} {after[bound]!r}")
    for bound in _LOWER_BOUNDS:
        if bound in after and (bound not in before or after[bound] > before[bound]):
            changes.append(f"has {bound} {after[bound]!r}")
    return changes


def _types(schema: Schema) -> set[str]:
    """The JSON types ``schema`` accepts (empty: any)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {str(item) for item in typing.cast("list[object]", kind)}
    types: set[str] = set()
    for option in schema.get("anyOf", []):
        found = _types(option)
        if not found:
            return set()
        types |= found
    return types


def _arguments(document: Document, operation: Schema) -> Schema:
    """The request message's envelope."""
    [message] = operation["messages"]
    return message_envelope(document, message)
