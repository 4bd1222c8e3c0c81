"""``GenericModelConsumer[M, S]``: the model, queryset, serializer and objects of a consumer.

The type parameters are read when the class is created, so ``ModelConsumer[Item,
ItemSerializer]`` alone serves ``Item``'s default manager through ``ItemSerializer``. The hooks
are DRF's generic-view hooks; they are sync and run in the database thread, where the generic
actions run (``aget_object`` reaches ``get_object`` from async code).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import (
    Annotated,
    Any,
    ClassVar,
    Generic,
    Literal,
    NotRequired,
    Protocol,
    TypeAlias,
    TypeVar,
    cast,
    overload,
)
from uuid import UUID

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models import Manager, Model, QuerySet
from django.utils.functional import SimpleLazyObject
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from rest_framework.filters import BaseFilterBackend
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from typed_dcrf import db
from typed_dcrf._checks import OBJECT, Subject, evaluate_sync, raise_if_refused
from typed_dcrf._drf import drf_request
from typed_dcrf._lookups import field_type, model_field, model_of, without_null_characters
from typed_dcrf._overrides import defined_by
from typed_dcrf._shared_serializer import SharedSerializer, shared_serializer
from typed_dcrf._signature import RESERVED_NAMES, parameter_fields
from typed_dcrf.actions import Action
from typed_dcrf.consumers import AsyncAPIConsumer
from typed_dcrf.context import ActionContext, current_context
from typed_dcrf.pagination import LimitOffsetPagination, Page, Pagination

M = TypeVar("M", bound=Model)
S = TypeVar("S", bound=BaseSerializer[Any])
S_co = TypeVar("S_co", bound=BaseSerializer[Any], covariant=True)

LookupValue: TypeAlias = int | str | UUID
"""What a lookup argument may be; each consumer validates it as its lookup field's type."""


class ManySerializer(Protocol[S_co]):
    """What ``get_serializer(..., many=True)`` returns: DRF's ``ListSerializer`` (or the
    serializer's ``Meta.list_serializer_class``) over one ``child`` serializer."""

    @property
    def child(self) -> S_co:
        """The serializer each item goes through."""
        ...

    @property
    def data(self) -> ReturnList[Any]:
        """The items' representations (each as the child's ``data``, typed ``Any`` by DRF)."""
        ...

    # Any, as DRF's stubs: a list of the items' errors, or a dict for errors of the whole list.
    @property
    def errors(self) -> Any:
        """The validation errors."""
        ...

    @property
    def validated_data(self) -> list[Any]:
        """The items' validated data (as the child's ``validated_data``, typed ``Any`` by DRF)."""
        ...

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        """Validate every item."""
        ...

    def save(self, **kwargs: Any) -> list[Any]:
        """Create or update every item (through ``create()``/``update()``)."""
        ...


QueryArguments: TypeAlias = "dict[str, str | list[str]]"


def _query_value(value: object) -> object:
    """A query parameter's value: a string or a list of strings, with one error otherwise."""
    items = cast("list[object]", value) if isinstance(value, list) else [value]
    if all(isinstance(item, str) for item in items):
        return items if isinstance(value, list) else value
    raise PydanticCustomError("string_type", "Not a valid string.")


QUERY_PARAMETER: object = NotRequired[Annotated[str | list[str], BeforeValidator(_query_value)]]
"""The type of a filter backend's query parameter, as a list argument."""

KEYWORD_KINDS = ("lookup", "filters", "query")
"""What a generic action's ``**kwargs`` parameter may stand for, by its name: the lookup
argument, the list's filter arguments, or those and the pagination arguments."""


class GenericModelConsumer(AsyncAPIConsumer, Generic[M, S]):
    """A consumer over one model: DRF's ``GenericAPIView`` hooks, typed by ``M`` and ``S``."""

    model: type[M]
    """The model: the first type parameter (or ``queryset.model``)."""
    queryset: QuerySet[M] | Manager[M] | None = None
    """The rows served; the model's default manager when not set."""
    serializer_class: type[S]
    """The serializer: the second type parameter, unless set explicitly."""
    lookup_field: ClassVar[str] = "pk"
    """The model field ``get_object`` looks objects up by."""
    lookup_url_kwarg: ClassVar[str | None] = None
    """The argument carrying the lookup value (``lookup_field`` when not set)."""
    # DRF's settings hold dotted paths, which api_settings imports into classes.
    filter_backends: ClassVar[Sequence[type[BaseFilterBackend]]] = tuple(
        cast("Sequence[type[BaseFilterBackend]]", api_settings.DEFAULT_FILTER_BACKENDS)
    )
    """DRF filter backends (DRF's ``DEFAULT_FILTER_BACKENDS`` by default); the query
    parameters they read become arguments of the list actions."""
    filter_parameters: ClassVar[Sequence[str] | None] = None
    """The query parameters the filter backends read; ``None``: ask each backend's
    ``get_schema_operation_parameters()`` (which django-filter's backend does not answer)."""
    pagination_class: ClassVar[type[Pagination]] = LimitOffsetPagination
    """The paginator of the paginated and streamed list actions."""
    share_serializer: ClassVar[bool] = True
    """Write output (``serialize``, ``serialize_many``, events) with one serializer instance
    per serializer class, its fields built once; ``False`` builds one per call, as DRF does
    (for a serializer whose fields or methods keep state of their own)."""

    _own_get_serializer: ClassVar[bool] = False
    _filter_names: ClassVar[frozenset[str]] = frozenset()
    _query_names: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls._own_get_serializer = defined_by(cls, "get_serializer") is not GenericModelConsumer
        cls._resolve_model()
        super().__init_subclass__(**kwargs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request: tuple[ActionContext, Request] | None = None

    @classmethod
    def _prepare_action(cls, found: Action[Any, Any]) -> Action[Any, Any] | None:
        kind = found.accepts_keywords
        if kind not in KEYWORD_KINDS:
            return super()._prepare_action(found)
        if not hasattr(cls, "model"):
            return None  # a generic class: its concrete subclasses serve the action
        if kind == "lookup":
            keywords = cls._lookup_arguments()
        else:
            keywords = cls._filter_arguments(paginated=kind == "query")
        data_type = None
        if kind == "query" and typing.get_origin(found.declared_data_type) is Page:
            data_type = cls.pagination_class.data_type()
        return found.specialize(cls, keywords=keywords, data_type=data_type)

    @property
    def request(self) -> Request:
        """A DRF request for the running action: its user, and its filter backends' query
        (outside actions, as in a channel layer handler: the connection's user, no query)."""
        return self._request_for(current_context.get(None))

    def _request_for(self, context: ActionContext | None) -> Request:
        if context is None:
            return drf_request(self.scope, "GET")
        cached = self._request  # read once: detached actions use it from two threads
        if cached is None or cached[0] is not context:
            # The backends' query parameters were validated as `str | list[str]`.
            query = {k: v for k, v in context.arguments.items() if k in self._query_names}
            method = self.actions[context.action].method
            request = drf_request(self.scope, method, cast("QueryArguments", query))
            cached = self._request = (context, request)
        return cached[1]

    def get_queryset(self) -> QuerySet[M]:
        """The rows this consumer serves; override for per-user querysets."""
        if self.queryset is not None:
            return self.queryset.all()
        return self.model._default_manager.all()

    def filter_queryset(self, queryset: QuerySet[M]) -> QuerySet[M]:
        """``queryset`` through the filter backends, then through ``filter_list``."""
        for backend in self.filter_backends:
            # DRF backends take the consumer where they would take the view, as in DCRF.
            queryset = backend().filter_queryset(self.request, queryset, self)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        context = current_context.get(None)
        arguments: Mapping[str, object] = {} if context is None else context.arguments
        filters = {k: v for k, v in arguments.items() if k in self._filter_names}
        return self.filter_list(queryset, **filters)

    def filter_list(self, queryset: QuerySet[M]) -> QuerySet[M]:
        """The typed filter hook: override with keyword arguments that have defaults, e.g.
        ``def filter_list(self, queryset, *, done: bool | None = None)``; they become
        arguments of the list actions, validated by their annotations."""
        return queryset

    def paginate_queryset(
        self, queryset: QuerySet[M], arguments: Mapping[str, object] | None = None
    ) -> Page[dict[str, Any]]:
        """The page of ``queryset`` that ``arguments`` (by default, the running action's) ask
        ``pagination_class`` for, its rows serialized."""
        paginator = self.pagination_class()
        window = paginator.paginate(
            queryset, self.context.arguments if arguments is None else arguments
        )
        return paginator.page(self.serialize_many(window.rows), window)

    def get_object(self, **lookup: LookupValue) -> M:
        """The object named by ``lookup`` (by default, the running action's lookup argument),
        after its object permissions; ``NotFound`` when there is none."""
        kwarg = self.lookup_url_kwarg or self.lookup_field
        arguments = lookup or self.context.arguments
        if kwarg not in arguments:
            msg = (
                f"{type(self).__qualname__}.get_object() needs the lookup: get_object({kwarg}=...)."
            )
            raise TypeError(msg)
        value = arguments[kwarg]
        queryset = self.filter_queryset(self.get_queryset())
        obj = get_object_or_404(queryset, **{self.lookup_field: value})
        self.check_object_permissions(obj)
        return obj

    async def aget_object(self, **lookup: LookupValue) -> M:
        """``get_object`` from async code (one trip to the database thread)."""
        return await db.run(self.get_object, **lookup)

    def check_object_permissions(self, obj: M) -> None:
        """Raise ``PermissionDenied`` (or ``NotAuthenticated``) unless every permission allows
        ``obj`` (``has_object_permission``)."""
        if self._permissions is not None:
            context = self.context
            subject = Subject(self, context, self.actions[context.action].method, obj)
            raise_if_refused(evaluate_sync(self._permissions, OBJECT, subject), subject)

    def get_serializer_class(self) -> type[S]:
        """The serializer class; override to pick one per action or user."""
        return self.serializer_class

    def get_serializer_context(self) -> dict[str, Any]:
        """What the serializer sees as ``context``: DRF's ``request``, ``view`` and ``format``,
        plus the websocket ``scope`` and the ``consumer``. The request is built when it is
        first read (most fields never read it)."""
        context = current_context.get(None)
        request = SimpleLazyObject(lambda: self._request_for(context))
        return {
            "request": request,
            "view": self,
            "format": None,
            "scope": self.scope,
            "consumer": self,
        }

    # The serializer's own constructor arguments (instance, data, partial...), as DRF's.
    @overload
    def get_serializer(self, *args: Any, many: Literal[False] = False, **kwargs: Any) -> S: ...
    @overload
    def get_serializer(
        self, *args: Any, many: Literal[True], **kwargs: Any
    ) -> ManySerializer[S]: ...
    @overload
    def get_serializer(self, *args: Any, many: bool, **kwargs: Any) -> S | ManySerializer[S]: ...
    def get_serializer(self, *args: Any, **kwargs: Any) -> S | ManySerializer[S]:
        """An instance of ``get_serializer_class()`` with ``get_serializer_context()``; with
        ``many=True``, the list serializer over it."""
        kwargs.setdefault("context", self.get_serializer_context())
        return self.get_serializer_class()(*args, **kwargs)

    def serialize(self, instance: M) -> ReturnDict[str, Any]:
        """``get_serializer(instance).data``, typed (DRF's stubs leave that ``ReturnDict``'s
        keys and values unknown to pyright's strict mode), by the shared serializer where
        ``share_serializer`` and ``get_serializer`` allow."""
        shared = self._shared_serializer()
        if shared is None:
            data: ReturnDict[str, Any] = self.get_serializer(instance).data
            return data
        row = shared.one(instance, self.get_serializer_context())
        return ReturnDict(row, serializer=shared.serializer)

    def serialize_many(self, rows: Iterable[M]) -> ReturnList[Any]:
        """``get_serializer(rows, many=True).data``, as ``serialize`` writes it."""
        shared = self._shared_serializer()
        if shared is None:
            data: ReturnList[Any] = self.get_serializer(rows, many=True).data
            return data
        return ReturnList(
            shared.many(rows, self.get_serializer_context()), serializer=shared.serializer
        )

    def _shared_serializer(self) -> SharedSerializer | None:
        """The shared serializer of ``get_serializer_class()``, unless ``share_serializer`` is
        off or ``get_serializer`` is overridden (its serializer is then the one to use)."""
        if not self.share_serializer or self._own_get_serializer:
            return None
        return shared_serializer(self.get_serializer_class())

    @classmethod
    def _resolve_model(cls) -> None:
        """Set ``model`` and ``serializer_class`` from the type parameters and check they agree."""
        declared = _type_arguments(cls)
        # The declared classes are the runtime values of M and S, which cls itself cannot name.
        if declared is not None:
            model, serializer = declared
            if "model" not in cls.__dict__:
                cls.model = cast("Any", model)
            if "serializer_class" not in cls.__dict__:
                cls.serializer_class = cast("Any", serializer)
        elif not hasattr(cls, "model"):
            # DCRF style: a queryset (or manager), else the serializer's model.
            inferred = model_of(cls.__dict__.get("queryset")) or model_of(
                cls.__dict__.get("serializer_class")
            )
            if inferred is not None:
                cls.model = cast("Any", inferred)
        where = cls.__qualname__
        if not hasattr(cls, "model"):
            if _is_generic(cls):
                return  # its concrete subclasses name the model
            msg = (
                f"{where}: no model; declare it, e.g. `class {cls.__name__}(ModelConsumer[Item, "
                f"ItemSerializer])`, or set `queryset`. A base class for other consumers stays "
                f"generic: `class {cls.__name__}(ModelConsumer[M, S])`."
            )
            raise ImproperlyConfigured(msg)
        if cls.queryset is not None and not issubclass(cls.queryset.model, cls.model):
            found = cls.queryset.model.__name__
            msg = f"{where}: queryset is of {found}, not {cls.model.__name__}."
            raise ImproperlyConfigured(msg)
        if not hasattr(cls, "serializer_class"):
            msg = f"{where}: no serializer; declare it, e.g. `ModelConsumer[Item, ItemSerializer]`."
            raise ImproperlyConfigured(msg)
        serialized = model_of(cls.serializer_class)
        if serialized is not None and not issubclass(cls.model, serialized):
            msg = (
                f"{where}: {cls.serializer_class.__name__} serializes {serialized.__name__}, "
                f"not {cls.model.__name__}; use a serializer whose Meta.model is "
                f"{cls.model.__name__}."
            )
            raise ImproperlyConfigured(msg)
        cls._filter_names = frozenset(cls._filter_hook_arguments())
        cls._query_names = frozenset(cls._query_parameters())

    @classmethod
    def _lookup_arguments(cls) -> dict[str, object]:
        """``{lookup argument: the lookup field's type}``."""
        where = cls.__qualname__
        kwarg = cls.lookup_url_kwarg or cls.lookup_field
        if kwarg in RESERVED_NAMES:
            msg = f"{where}: lookup argument {kwarg!r} is an envelope key; set lookup_url_kwarg."
            raise ImproperlyConfigured(msg)
        try:
            field = model_field(cls.model, cls.lookup_field)
        except FieldDoesNotExist:
            name = cls.model.__name__
            msg = f"{where}: lookup_field {cls.lookup_field!r} is not a field of {name}."
            raise ImproperlyConfigured(msg) from None
        return {kwarg: field_type(field)}

    @classmethod
    def _filter_hook_arguments(cls) -> dict[str, object]:
        """``filter_list``'s keyword arguments, each of which must have a default."""
        where = f"{cls.__qualname__}.filter_list"
        for param in list(inspect.signature(cls.filter_list).parameters.values())[2:]:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                msg = f"{where}: declare each filter as a keyword argument with a default."
                raise ImproperlyConfigured(msg)
            if param.default is param.empty:
                msg = f"{where}: give {param.name!r} a default; get_object() runs it without."
                raise ImproperlyConfigured(msg)
        fields = parameter_fields(cls.filter_list, where, skip=2)
        return {name: without_null_characters(field) for name, field in fields.items()}

    @classmethod
    def _filter_arguments(cls, *, paginated: bool) -> dict[str, object]:
        """The list actions' arguments: ``filter_list``'s, the filter backends' query
        parameters and, when ``paginated``, the paginator's; no name may be in two of them."""
        groups: list[tuple[str, dict[str, object]]] = [
            ("filter_list", cls._filter_hook_arguments()),
            ("filter_backends", dict.fromkeys(cls._query_names, QUERY_PARAMETER)),
        ]
        if paginated:
            groups.append(("pagination_class", cls.pagination_class.arguments()))
        fields: dict[str, object] = {}
        for source, arguments in groups:
            for name in arguments.keys() & fields.keys():
                msg = f"{cls.__qualname__}: {source} takes argument {name!r} a second time."
                raise ImproperlyConfigured(msg)
            fields |= arguments
        return fields

    @classmethod
    def _query_parameters(cls) -> list[str]:
        """The query parameters the filter backends read (``ordering``, ``search``...)."""
        if cls.filter_parameters is not None:
            return list(cls.filter_parameters)
        names: list[str] = []
        for backend in cls.filter_backends:
            try:
                parameters = backend().get_schema_operation_parameters(cls)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
            except Exception as exc:
                msg = (
                    f"{cls.__qualname__}: cannot read the query parameters of filter backend "
                    f"{backend.__name__} ({exc!r}); list them in `filter_parameters`."
                )
                raise ImproperlyConfigured(msg) from exc
            names += [str(parameter["name"]) for parameter in parameters]
        return names


def _is_generic(cls: type) -> bool:
    """Whether ``cls`` was declared with type variables (``class Base(ModelConsumer[M, S])``)."""
    arguments = [typing.get_args(base) for base in cls.__dict__.get("__orig_bases__", ())]
    return any(isinstance(argument, TypeVar) for group in arguments for argument in group)


def _type_arguments(cls: type) -> tuple[type[Model], type[BaseSerializer[Any]]] | None:
    """The concrete ``[M, S]`` the class itself was declared with, if any."""
    for base in cls.__dict__.get("__orig_bases__", ()):
        origin = typing.get_origin(base)
        arguments = typing.get_args(base)
        if (
            isinstance(origin, type)
            and issubclass(origin, GenericModelConsumer)
            and len(arguments) == 2
            and all(isinstance(argument, type) for argument in arguments)
        ):
            model, serializer = arguments
            return model, serializer
    return None
