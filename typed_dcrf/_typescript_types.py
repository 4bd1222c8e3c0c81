"""JSON Schema as TypeScript types: what ``typescript_client`` writes for each message."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias, cast

Schema: TypeAlias = Mapping[str, Any]
"""A JSON Schema (its values are JSON: ``Any``)."""

_ANY: Schema = {}
"""The schema every value matches."""
REF_PREFIX = "#/components/schemas/"
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
WIDTH = 100
"""The width generated lines are kept to, where they can be split."""
_SCALARS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}


def pascal(*parts: str) -> str:
    """``ws.items`` and ``subscribe_list`` as ``WsItemsSubscribeList``."""
    words = (word for part in parts for word in re.split(r"[^A-Za-z0-9]+", part) if word)
    name = "".join(word[0].upper() + word[1:] for word in words)
    return name if name and not name[0].isdigit() else f"T{name}"


def comment(text: str, indent: str = "") -> str:
    """``text`` as a JSDoc comment: one line where it fits in 100 columns, else wrapped."""
    words = " ".join(text.replace("*/", "*\\/").split())
    if len(indent) + len(words) + 7 <= WIDTH:
        return f"{indent}/** {words} */\n"
    lines = textwrap.wrap(words, width=WIDTH - len(indent) - 3)
    body = "".join(f"{indent} * {line}\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */\n"


def alias(name: str, type_: str, doc: str | None = None) -> str:
    """``export type name = type_;``, broken after ``=`` where its first line is too long."""
    line = f"export type {name} = {type_};\n"
    if len(line.split("\n", 1)[0]) > WIDTH and "\n" not in type_:
        line = f"export type {name} =\n  {type_};\n"
    return (comment(doc) if doc else "") + line


def property_key(name: str) -> str:
    """``name`` as an object type's or a class's member: quoted where it is no identifier."""
    return name if _IDENTIFIER.match(name) else json.dumps(name)


def member_access(name: str) -> str:
    """``.name``, or ``["name"]`` where it is no identifier."""
    return f".{name}" if _IDENTIFIER.match(name) else f"[{json.dumps(name)}]"


class Names:
    """Exported names, each given once."""

    def __init__(self, taken: Iterable[str]) -> None:
        self._taken = set(taken)

    def claim(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self._taken:
            n += 1
            name = f"{wanted}{n}"
        self._taken.add(name)
        return name


class TypeWriter:
    """TypeScript type expressions for JSON Schemas, with the document's component schemas as
    named types (each written once it is referred to)."""

    def __init__(self, components: Mapping[str, Any], names: Names) -> None:
        self._components = components
        self._names = names
        self._named: dict[str, str] = {}
        self._pending: list[str] = []

    def type(self, schema: object, indent: str = "") -> str:
        """The type of the values ``schema`` accepts (``unknown`` where it says nothing)."""
        return self._typed(schema, indent)[0]

    def _typed(self, schema: object, indent: str) -> tuple[str, bool]:
        """The type, and whether it is a union or an intersection (to parenthesize before
        ``[]``)."""
        if not isinstance(schema, dict) or not schema:
            return ("never" if schema is False else "unknown"), False
        return self._typed_schema(cast("Schema", schema), indent)

    def _typed_schema(self, schema: Schema, indent: str) -> tuple[str, bool]:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self._reference(ref), False
        if "const" in schema:
            return json.dumps(schema["const"]), False
        if "enum" in schema:
            return _union(json.dumps(value) for value in schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return _union(self.type(member, indent) for member in schema[key])
        if "allOf" in schema:
            parts = [self._grouped(part, indent) for part in schema["allOf"]]
            return " & ".join(parts), len(parts) > 1
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = cast("list[str]", kind)
            return _union(self.type({**schema, "type": one}, indent) for one in kinds)
        if kind in _SCALARS:
            return _SCALARS[kind], False
        if kind == "null":
            return "null", False
        if kind == "array":
            return self._array(schema, indent), False
        if kind == "object" or "properties" in schema:
            return self._object(schema, indent), False
        return "unknown", False

    def _grouped(self, schema: object, indent: str) -> str:
        """The type, parenthesized where ``[]`` or ``&`` would bind to its last member only."""
        text, compound = self._typed(schema, indent)
        return f"({text})" if compound else text

    def definitions(self) -> str:
        """``export type`` for each component referred to so far (and those they refer to)."""
        written: list[str] = []
        while self._pending:
            key = self._pending.pop(0)
            schema: object = self._components[key]
            written.append(alias(self._named[key], self.type(schema), _description(schema)))
        return "\n".join(written)

    def _reference(self, ref: str) -> str:
        key = ref.removeprefix(REF_PREFIX)
        if key not in self._components:
            raise ValueError(f"{ref} is not a schema of the document's components")
        if key not in self._named:
            self._named[key] = self._names.claim(pascal(key))
            self._pending.append(key)
        return self._named[key]

    def _array(self, schema: Mapping[str, Any], indent: str) -> str:
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        if isinstance(prefix, list):
            members = [self.type(item, indent) for item in cast("list[object]", prefix)]
            if items is not False and schema.get("maxItems") != len(members):
                members.append(f"...{self._grouped(items, indent)}[]")
            return f"[{', '.join(members)}]"
        if schema.get("maxItems") == 0:
            return "[]"
        return f"{self._grouped(items, indent)}[]"

    def _object(self, schema: Mapping[str, Any], indent: str) -> str:
        properties: Mapping[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if not properties:
            if extra is False:
                return "Record<string, never>"
            return f"{{ [key: string]: {self.type(_ANY if extra is True else extra, indent)} }}"
        required = set(schema.get("required", []))
        inner = indent + "  "
        lines: list[str] = []
        for name, member in properties.items():
            doc = _description(member)
            if doc is not None:
                lines.append(comment(doc, inner).rstrip("\n"))
            optional = "" if name in required else "?"
            lines.append(f"{inner}{property_key(name)}{optional}: {self.type(member, inner)};")
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"


def _description(schema: object) -> str | None:
    description = cast("Schema", schema).get("description") if isinstance(schema, dict) else None
    return description if isinstance(description, str) else None


def _union(members: Iterable[str]) -> tuple[str, bool]:
    unique = list(dict.fromkeys(members))
    if "unknown" in unique:
        return "unknown", False
    return (" | ".join(unique) or "never"), len(unique) > 1
