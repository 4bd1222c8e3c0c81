"""``Codec``: a data type ``T`` compiled once into a JSON serializer and, for the test client,
a parser back into ``T``.

Values are validated and serialized as the one member of a ``tuple[T]``, so that a pydantic
config applies, reaching the dataclasses and TypedDicts in ``T``: ``inf`` and ``NaN`` come out
as JSON's non-standard constants, which ``check_finite`` refuses, so such a value is a 500,
never a silent ``null``. Pydantic models serialize by their own config, so where ``T`` holds one
its Python form is searched for them first.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from pydantic import ConfigDict, TypeAdapter
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from typed_dcrf._envelope import check_finite, check_finite_values


# DRF's serializer containers are dict/list subclasses pydantic has no schema for: validated and
# serialized as these, and rebuilt for the test client.
def _return_dict(value: dict[str, Any]) -> ReturnDict[str, Any]:
    # The client side has no serializer; DRF accepts None here, its stubs do not.
    return ReturnDict(value, serializer=cast("Any", None))


def _return_list(value: list[Any]) -> ReturnList[Any]:
    return ReturnList(value, serializer=cast("Any", None))


_DRF_CONTAINERS: Mapping[object, tuple[object, Callable[[Any], Any]]] = {
    ReturnDict: (dict[str, Any], _return_dict),
    ReturnList: (list[Any], _return_list),
}

_CONFIG = ConfigDict(ser_json_inf_nan="constants")


class Codec:
    """JSON for values of one type (raises pydantic's errors on ``PydanticSchemaGenerationError``
    when pydantic cannot handle the type)."""

    def __init__(self, data_type: object) -> None:
        origin = typing.get_origin(data_type) or data_type
        rebuild: Callable[[Any], Any] | None
        validated, rebuild = _DRF_CONTAINERS.get(origin, (data_type, None))
        self._rebuild = rebuild
        holder: Any = cast("Any", tuple)[validated]  # tuple[T], built at run time
        self._adapter = TypeAdapter[tuple[Any]](holder, config=_CONFIG)
        self._has_models = has_models(self._adapter)

    @property
    def complete(self) -> bool:
        """Whether every type inside is defined (no unresolved forward reference)."""
        return self._adapter.pydantic_complete

    def dump_json(self, data: object) -> str:
        """``data`` as JSON text; data that does not match the type, or holds ``inf`` or
        ``NaN``, raises."""
        if self._has_models:
            check_finite_values(self._adapter.dump_python((data,), warnings="error"))
        encoded = self._adapter.dump_json((data,), warnings="error")
        check_finite(encoded)
        return encoded[1:-1].decode()  # without the tuple's brackets

    def parse(self, data: object) -> Any:  # the type's values, known to callers only statically
        """JSON ``data`` back into the type; pydantic's ``ValidationError`` if it does not match."""
        (value,) = self._adapter.validate_python((data,))
        return value if self._rebuild is None else self._rebuild(value)


_SHARED: dict[object, Codec] = {}


def shared_codec(data_type: object) -> Codec:
    """The ``Codec`` of ``data_type``, compiled once for every action that returns it (a type
    that cannot be hashed, or is not fully defined yet, gets one of its own)."""
    try:
        return _SHARED[data_type]
    except KeyError:
        codec = Codec(data_type)
        if codec.complete:
            _SHARED[data_type] = codec
        return codec
    except TypeError:  # unhashable, such as Annotated with unhashable metadata
        return Codec(data_type)


def has_models(adapter: TypeAdapter[Any]) -> bool:
    """Whether the adapter's type holds a pydantic model (whose own config decides how it
    serializes inf and NaN, and whether it accepts them)."""
    stack: list[object] = [adapter.core_schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            schema = cast("dict[str, object]", node)
            if schema.get("type") == "model":
                return True
            stack.extend(schema.values())
        elif isinstance(node, list | tuple):
            stack.extend(cast("Sequence[object]", node))
    return False
