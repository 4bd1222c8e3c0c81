"""``@action``: turns a consumer method into a typed, validated action descriptor.

The descriptor keeps the method's signature for type checkers (``ParamSpec``) and compiles it
for the wire protocol when the first consumer class using it is created.
"""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Callable, Coroutine, Mapping
from types import MethodType
from typing import Any, Generic, Literal, Protocol, Self, TypeVar, cast, overload

from django.core.exceptions import ImproperlyConfigured
from typing_extensions import ParamSpec

from typed_dcrf._signature import CompiledSignature, compile_signature, response_type
from typed_dcrf.responses import Response

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


# The `self` of a decorated method is typed Any: naming the owner class in the type
# parameters breaks pyright on subclass overrides (see DESIGN.md, typing design). Protocols,
# not `Callable[Concatenate[Any, P], ...]`: given a method of the wrong kind, mypy's note on a
# Concatenate type would be to mark `self` positional-only.
class AsyncMethod(Protocol[P, R_co]):
    """An ``async def`` consumer method returning ``Response[R_co]``."""

    def __call__(
        self, instance: Any, /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, Response[R_co]]: ...


class SyncMethod(Protocol[P, R_co]):
    """A plain ``def`` consumer method returning ``Response[R_co]``."""

    def __call__(self, instance: Any, /, *args: P.args, **kwargs: P.kwargs) -> Response[R_co]: ...


class Action(Generic[P, R]):
    """An action: a named, compiled consumer method whose replies carry ``R``."""

    is_async: bool = True

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        atomic: bool | None = None,
        detached: bool = False,
        method: str | None = None,
        throttle_scope: str | None = None,
    ) -> None:
        self.func: Callable[..., Any] = func  # called with validated keyword arguments
        self.name: str = name or func.__name__
        """The action's wire name."""
        self.atomic: bool | None = atomic
        self.detached: bool = detached
        self.method: str = (method or self.name).upper()
        """The HTTP method DRF permissions and filters see (the upper-cased name, as DCRF)."""
        self.throttle_scope: str | None = throttle_scope
        """The scope scoped throttles count it in (``None``: the consumer's ``throttle_scope``)."""
        self.owner: str = "<unbound>"
        """The qualified name of the consumer class that serves it."""
        self.attribute: str = func.__name__
        """The class attribute it is bound to."""
        self._signature: CompiledSignature | None = None
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.owner = owner.__qualname__
        self.attribute = attribute

    def compile(self) -> None:
        """Check the options and compile the signature, unless that is done already."""
        if self._signature is not None:
            return
        where = f"{self.owner}.{self.attribute}"
        if self.atomic is not None and self.is_async:
            msg = f"{where}: atomic= applies to sync actions; make the method a plain `def`."
            raise ImproperlyConfigured(msg)
        if self.detached and not self.is_async:
            msg = f"{where}: detached= applies to async actions; make the method `async def`."
            raise ImproperlyConfigured(msg)
        self._signature = compile_signature(self.func, owner=self.owner, name=self.attribute)

    def specialize(
        self, owner: type, *, keywords: Mapping[str, object], data_type: object = None
    ) -> Self:
        """A compiled copy for ``owner``, whose ``**kwargs`` parameter stands for ``keywords``.

        Generic model actions take ``**lookup`` or ``**filters``; each concrete consumer class
        gets its own copy, validated with its model's field types.
        """
        copied = copy.copy(self)
        copied.owner = owner.__qualname__
        copied._signature = compile_signature(
            self.func,
            owner=copied.owner,
            name=self.attribute,
            keywords=keywords,
            data_type=data_type,
        )
        return copied

    @property
    def declared_data_type(self) -> object:
        """The ``T`` of the method's ``-> Response[T]`` annotation."""
        hints = typing.get_type_hints(self.func, include_extras=True)
        return response_type(hints, f"{self.owner}.{self.attribute}")

    @property
    def accepts_keywords(self) -> str | None:
        """The name of the method's ``**kwargs`` parameter, if it has one."""
        for param in inspect.signature(self.func).parameters.values():
            if param.kind is param.VAR_KEYWORD:
                return param.name
        return None

    @property
    def signature(self) -> CompiledSignature:
        """The compiled validator and serializer (built when the class was created)."""
        if self._signature is None:
            msg = f"Action {self.name!r} is used outside a consumer class body."
            raise ImproperlyConfigured(msg)
        return self._signature

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.owner}.{self.attribute}>"


class AsyncAction(Action[P, R]):
    """An ``async def`` action; on an instance it is the bound coroutine method."""

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(
        self, instance: object, owner: type | None = None
    ) -> Callable[P, Coroutine[Any, Any, Response[R]]]: ...
    def __get__(
        self, instance: object | None, owner: type | None = None
    ) -> Self | Callable[P, Coroutine[Any, Any, Response[R]]]:
        if instance is None:
            return self
        return cast(
            "Callable[P, Coroutine[Any, Any, Response[R]]]", MethodType(self.func, instance)
        )


class SyncAction(Action[P, R]):
    """A plain ``def`` action, run in the database thread; on an instance, the bound method."""

    is_async = False

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> Callable[P, Response[R]]: ...
    def __get__(
        self, instance: object | None, owner: type | None = None
    ) -> Self | Callable[P, Response[R]]:
        if instance is None:
            return self
        return cast("Callable[P, Response[R]]", MethodType(self.func, instance))


class AsyncActionDecorator(Protocol):
    """What ``@action(detached=True)`` returns: a decorator for an async method only."""

    def __call__(self, func: AsyncMethod[P, R], /) -> AsyncAction[P, R]: ...


class SyncActionDecorator(Protocol):
    """What ``@action(atomic=...)`` returns: a decorator for a sync method only."""

    def __call__(self, func: SyncMethod[P, R], /) -> SyncAction[P, R]: ...


class ActionDecorator(Protocol):
    """What ``@action(...)`` returns: a decorator for an async or a sync method."""

    @overload
    def __call__(self, func: AsyncMethod[P, R], /) -> AsyncAction[P, R]: ...
    @overload
    def __call__(self, func: SyncMethod[P, R], /) -> SyncAction[P, R]: ...


@overload
def action(func: AsyncMethod[P, R], /) -> AsyncAction[P, R]: ...
@overload
def action(func: SyncMethod[P, R], /) -> SyncAction[P, R]: ...
@overload
def action(
    *,
    name: str | None = None,
    method: str | None = None,
    throttle_scope: str | None = None,
    detached: Literal[True],
) -> AsyncActionDecorator: ...
@overload
def action(
    *,
    name: str | None = None,
    method: str | None = None,
    throttle_scope: str | None = None,
    atomic: bool,
) -> SyncActionDecorator: ...
@overload
def action(
    *,
    name: str | None = None,
    method: str | None = None,
    throttle_scope: str | None = None,
    atomic: None = None,
    detached: Literal[False] = False,
) -> ActionDecorator: ...
def action(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    method: str | None = None,
    throttle_scope: str | None = None,
    atomic: bool | None = None,
    detached: bool = False,
) -> Action[Any, Any] | ActionDecorator | AsyncActionDecorator | SyncActionDecorator:
    """Declare a consumer method as an action.

    Args:
        name: the wire name (defaults to the method name).
        method: the HTTP method DRF permissions and filter backends see, e.g. ``"GET"`` for
            an action that changes nothing (default: the upper-cased name, as in DCRF).
        throttle_scope: the scope ``ScopedRateThrottle`` and ``ScopedConnectionRateThrottle``
            count this action in, its rate DRF's ``DEFAULT_THROTTLE_RATES[scope]`` (default:
            the consumer's ``throttle_scope``).
        atomic: sync actions only; wrap the call in a transaction (default: the database's
            ``ATOMIC_REQUESTS``).
        detached: async actions only; run as a tracked task so the connection keeps serving.
    """

    def decorate(target: Callable[..., Any]) -> Action[Any, Any]:
        kind = (
            AsyncAction[Any, Any] if inspect.iscoroutinefunction(target) else SyncAction[Any, Any]
        )
        return kind(
            target,
            name=name,
            method=method,
            throttle_scope=throttle_scope,
            atomic=atomic,
            detached=detached,
        )

    if func is not None:
        return decorate(func)
    return cast("ActionDecorator", decorate)
