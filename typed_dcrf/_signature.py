"""Compiles an action's signature, once, into an argument validator and an output serializer.

The parameters become a pydantic-validated TypedDict (so any parameter name is allowed), whose
floats are finite (an argument "inf" is a 400); the ``T`` of the ``Response[T]`` return
annotation becomes a ``Codec`` that serializes ``data`` to JSON and, in the test client, parses
it back.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import typing_extensions
from django.core.exceptions import ImproperlyConfigured
from pydantic import ConfigDict, PydanticSchemaGenerationError, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from typed_dcrf._codec import Codec, has_models, shared_codec
from typed_dcrf._envelope import NonFiniteFloatError, check_finite_values
from typed_dcrf.exceptions import ErrorDetail, ValidationError
from typed_dcrf.responses import Response

RESERVED_NAMES = frozenset({"action", "request_id"})
"""Frame keys that belong to the envelope, so no action parameter may take them."""

# Type checkers accept the functional TypedDict form only with literal arguments; these classes
# are made from names and fields known at run time.
_TYPED_DICT: Any = typing_extensions.TypedDict


def _new_typed_dict(name: str, fields: Mapping[str, object], config: ConfigDict) -> Any:
    """A TypedDict class whose fields are only known at run time, validated with ``config``."""
    typed_dict = _TYPED_DICT(name, dict(fields))
    typed_dict.__pydantic_config__ = config
    return typed_dict


_ARGUMENTS_CONFIG = ConfigDict(allow_inf_nan=False)
"""JSON has no inf or NaN, so a string such as "inf" is refused where a float is expected."""


_FINITE = "Input should be a finite number."
"""pydantic's own words for an argument that is inf or NaN."""

_NOT_A_DICT = "Invalid data. Expected a dictionary, but got {input_type}."
"""DRF's words for a nested serializer given something other than an object."""

# DRF's wording for the errors clients meet most, so that replies read like DRF's.
_DRF_MESSAGES: Mapping[str, str] = {
    "missing": "This field is required.",
    "unexpected": "Unexpected field.",
    "int_type": "A valid integer is required.",
    "int_parsing": "A valid integer is required.",
    "int_from_float": "A valid integer is required.",
    "float_type": "A valid number is required.",
    "float_parsing": "A valid number is required.",
    "string_type": "Not a valid string.",
    "bool_type": "Must be a valid boolean.",
    "bool_parsing": "Must be a valid boolean.",
    "uuid_type": "Must be a valid UUID.",
    "uuid_parsing": "Must be a valid UUID.",
    "none_required": "This field must be null.",
    "dict_type": _NOT_A_DICT,
    # pydantic's own words for these name the server's class ("instance of Address").
    "dataclass_type": _NOT_A_DICT,
    "dataclass_exact_type": _NOT_A_DICT,
    "model_type": _NOT_A_DICT,
    "model_attributes_type": _NOT_A_DICT,
}


class CompiledSignature:
    """What the pipeline needs about one action, checked when its class is created."""

    __slots__ = ("_adapter", "_arguments_type", "data_type", "models", "output", "parameters")

    parameters: frozenset[str]
    output: Codec
    """Serializes the ``T`` of ``Response[T]``."""
    models: bool
    """Whether an argument holds a pydantic model, whose own config may admit inf and NaN."""
    data_type: object
    """The ``T`` that ``output`` serializes (the consumer's own, where it knows it better)."""

    def __init__(
        self,
        parameters: frozenset[str],
        arguments_type: Any,  # a TypedDict class made at run time
        output: Codec,
        *,
        models: bool,
        data_type: object,
    ) -> None:
        self.parameters = parameters
        self._arguments_type = arguments_type
        self._adapter: TypeAdapter[dict[str, Any]] | None = None
        self.output = output
        self.models = models
        self.data_type = data_type

    @property
    def arguments(self) -> TypeAdapter[dict[str, Any]]:
        """The arguments' validator, built on first use: each parameter's type was checked
        with the class, and building a validator for them all costs most of a class's
        creation (0.2 ms an action)."""
        adapter = self._adapter
        if adapter is None:
            adapter = self._adapter = TypeAdapter[dict[str, Any]](self._arguments_type)
        return adapter

    def validate(self, arguments: Mapping[str, object], *, allow_unknown: bool) -> dict[str, Any]:
        """Validated keyword arguments, or a ``ValidationError`` listing every problem."""
        unknown = [] if allow_unknown else [key for key in arguments if key not in self.parameters]
        try:
            validated = self.arguments.validate_python(arguments)
        except PydanticValidationError as exc:
            raise ValidationError(field_errors(exc, unknown, arguments)) from None
        if unknown:
            raise ValidationError(field_errors(None, unknown, arguments))
        if self.models:
            self._refuse_non_finite(validated)
        return validated

    def _refuse_non_finite(self, validated: dict[str, Any]) -> None:
        """A 400 for each argument holding inf or NaN that a model's own config let through."""
        refused: dict[str, ErrorDetail] = {}
        for name, value in self.arguments.dump_python(validated).items():
            try:
                check_finite_values(value)
            except NonFiniteFloatError:
                refused[name] = [_FINITE]
        if refused:
            raise ValidationError(refused)


LISTED_ERRORS = 100
"""The errors one reply lists at most (a frame of 100,000 wrong items would otherwise be answered
with ten times its own size)."""


def field_errors(
    exc: PydanticValidationError | None, unknown: list[str], arguments: Mapping[str, object]
) -> dict[str, ErrorDetail]:
    """pydantic errors as DRF nests them: ``{"addr": {"zip": ["message"]}}``, the first
    ``LISTED_ERRORS`` of them, then how many more there are."""
    tree: dict[str, ErrorDetail] = {}
    located = (
        [] if exc is None else [(e["loc"], e["type"], e["msg"], e["input"]) for e in exc.errors()]
    )
    located += [((key,), "unexpected", "", None) for key in unknown]
    for loc, kind, message, given in located[:LISTED_ERRORS]:
        path = _input_path(loc, arguments, missing=kind == "missing") or ["non_field_errors"]
        drf = _DRF_MESSAGES.get(kind)
        if drf is not None:
            text = drf.format(input_type=type(given).__name__)
        else:
            text = message if message.endswith(".") else f"{message}."
        _add(tree, path, text)
    if len(located) > LISTED_ERRORS:
        _add(tree, ["non_field_errors"], f"{len(located) - LISTED_ERRORS} more errors not listed.")
    return tree


def _input_path(
    loc: tuple[int | str, ...], arguments: Mapping[str, object], *, missing: bool
) -> list[str]:
    """The parts of a pydantic ``loc`` that name keys and indexes of the client's input.

    pydantic also puts union members (``int``, a class name) and ``[key]`` markers in a
    location; those mean nothing to a client and are dropped. A missing key is kept last.
    """
    path: list[str] = []
    node: object = arguments
    for position, part in enumerate(loc):
        child = _child(node, part)
        if child is not _ABSENT:
            node = child
        elif not (missing and position == len(loc) - 1):
            continue
        path.append(str(part))
    return path


_ABSENT = object()


def _child(node: object, part: int | str) -> object:
    """``node[part]`` for a JSON object or array, or ``_ABSENT``."""
    if isinstance(node, Mapping):
        return cast("Mapping[object, object]", node).get(part, _ABSENT)
    if isinstance(node, list | tuple) and isinstance(part, int):
        items = cast("Sequence[object]", node)
        return items[part] if 0 <= part < len(items) else _ABSENT
    return _ABSENT


def _add(tree: dict[str, ErrorDetail], path: list[str], message: str) -> None:
    """Append ``message`` at ``path``; a field with both its own and nested errors keeps
    its own under ``non_field_errors``, as DRF does for nested serializers."""
    head, *rest = path
    node = tree.get(head)
    if rest:
        if not isinstance(node, dict):
            node = {} if node is None else {"non_field_errors": node}
            tree[head] = node
        _add(node, rest, message)
    elif isinstance(node, dict):
        _add(node, ["non_field_errors"], message)
    else:
        tree[head] = [*(node or []), message]


def compile_signature(
    func: Callable[..., object],
    *,
    owner: str,
    name: str,
    keywords: Mapping[str, object] | None = None,
    data_type: object = None,
) -> CompiledSignature:
    """Build the validator and serializer of ``owner.name`` or raise ``ImproperlyConfigured``.

    Args:
        keywords: the fields a ``**kwargs`` parameter stands for in this consumer class (the
            generic model actions' lookup and filter arguments); without it, ``**kwargs`` is
            an error.
        data_type: the ``T`` to serialize, when the consumer class knows it better than the
            return annotation does.
    """
    where = f"{owner}.{name}"
    hints = _type_hints(func, where)
    fields = parameter_fields(func, where, skip=1, keywords=keywords, hints=hints)
    try:
        checked = [_checked(annotation) for annotation in fields.values()]
        data_type = response_type(hints, where) if data_type is None else data_type
        output = shared_codec(data_type)
    except PydanticSchemaGenerationError as exc:
        msg = f"{where}: a parameter or the Response type is not supported by pydantic: {exc}"
        raise ImproperlyConfigured(msg) from exc
    if not (all(complete for complete, _ in checked) and output.complete):
        msg = f"{where}: a parameter or the Response type is not fully defined for pydantic."
        raise ImproperlyConfigured(msg)
    arguments_type = _new_typed_dict(f"{where}.arguments", fields, _ARGUMENTS_CONFIG)
    models = any(models for _, models in checked)
    return CompiledSignature(
        frozenset(fields), arguments_type, output, models=models, data_type=data_type
    )


_CHECKED: dict[object, tuple[bool, bool]] = {}


def _checked(annotation: object) -> tuple[bool, bool]:
    """Whether pydantic has every definition that ``annotation`` needs, and whether it holds a
    pydantic model (pydantic's error where it cannot handle it), once per annotation."""
    try:
        return _CHECKED[annotation]
    except KeyError:
        pass
    except TypeError:  # unhashable, such as Annotated with unhashable metadata
        return _check(annotation)
    checked = _CHECKED[annotation] = _check(annotation)
    return checked


def _check(annotation: object) -> tuple[bool, bool]:
    if typing.get_origin(annotation) is typing_extensions.NotRequired:
        (annotation,) = typing.get_args(annotation)
    adapter = TypeAdapter[Any](cast("Any", annotation))  # an annotation read at run time
    return adapter.pydantic_complete, has_models(adapter)


def _type_hints(func: Callable[..., object], where: str) -> dict[str, object]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except NameError as exc:
        msg = f"{where}: cannot resolve an annotation ({exc}); define it before the consumer."
        raise ImproperlyConfigured(msg) from exc


def parameter_fields(
    func: Callable[..., object],
    where: str,
    *,
    skip: int,
    keywords: Mapping[str, object] | None = None,
    hints: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The TypedDict fields of ``func``'s parameters after the first ``skip`` (``self``...);
    optional parameters are ``NotRequired``, and ``**kwargs`` stands for ``keywords``."""
    hints = _type_hints(func, where) if hints is None else hints
    fields: dict[str, object] = {}
    for param in list(inspect.signature(func).parameters.values())[skip:]:
        if param.kind is param.VAR_KEYWORD and keywords is not None:
            fields.update(keywords)
        else:
            fields[param.name] = _field(param, hints, where)
    if keywords is not None:
        for name in sorted(keywords.keys() & inspect.signature(func).parameters.keys()):
            msg = f"{where}: argument {name!r} is a parameter and a keyword argument; rename one."
            raise ImproperlyConfigured(msg)
    return fields


def _field(param: inspect.Parameter, hints: Mapping[str, object], where: str) -> object:
    if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
        kind = "*args" if param.kind is param.VAR_POSITIONAL else "**kwargs"
        msg = f"{where}: {kind} is not allowed; declare each argument as a typed parameter."
        raise ImproperlyConfigured(msg)
    if param.kind is param.POSITIONAL_ONLY:
        msg = f"{where}: parameter {param.name!r} is positional-only; clients send names."
        raise ImproperlyConfigured(msg)
    if param.name in RESERVED_NAMES:
        msg = f"{where}: parameter {param.name!r} is an envelope key; rename the parameter."
        raise ImproperlyConfigured(msg)
    if param.name not in hints:
        msg = f"{where}: parameter {param.name!r} has no annotation; annotate it, e.g. `: int`."
        raise ImproperlyConfigured(msg)
    annotation = hints[param.name]
    if param.default is param.empty:
        return annotation
    return typing_extensions.NotRequired[annotation]


def response_type(hints: Mapping[str, object], where: str) -> object:
    """The ``T`` of a ``Response[T]`` return annotation."""
    returned = hints.get("return", inspect.Parameter.empty)
    if typing.get_origin(returned) is Response:
        return typing.get_args(returned)[0]
    found = "no return annotation" if returned is inspect.Parameter.empty else repr(returned)
    msg = f"{where}: actions must be annotated `-> Response[T]`, found {found}."
    raise ImproperlyConfigured(msg)
