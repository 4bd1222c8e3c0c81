"""``observe()`` and ``observe_signal()``: observers declared on a consumer class, DCRF's
``@model_observer`` and ``@observer`` typed.

The serializer's return annotation declares the payload ``T`` of the events; a ``groups`` hook
says which groups a change goes to, by keys (``("post", comment.post_id)``), and an action
subscribes to a key with ``await self.<observer>.subscribe("post", post)``: events then arrive
with that action's request_id.

    class PostConsumer(AsyncAPIConsumer):
        comments = observe(Comment, comment_out, groups=lambda c: [("post", c.post_id)])

        @action()
        async def follow(self, post: int) -> Response[None]:
            await self.comments.subscribe("post", post)
            return Response.created(None)
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Self, TypeAlias, TypeVar, overload

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.dispatch import Signal

from typed_dcrf._subscriptions import Subscription
from typed_dcrf.conf import get_settings
from typed_dcrf.exceptions import ParseError
from typed_dcrf.observers import Facts, ModelObserver, Observer, SignalObserver, row_facts

if TYPE_CHECKING:
    from typed_dcrf.consumers import AsyncAPIConsumer

M = TypeVar("M", bound=Model)
T = TypeVar("T")

GroupKey: TypeAlias = tuple[str | int, ...]
"""A group of an observer, by the values that name it: ``("post", 42)``; ``()`` is all."""


def _payload_type(serialize: Callable[..., object]) -> object:
    """The ``T`` a serializer's return annotation declares (read when the observer is
    declared, so that a mistake is reported at the line that makes it)."""
    returned = typing.get_type_hints(serialize, include_extras=True).get("return")
    if returned is None:
        where = getattr(serialize, "__qualname__", repr(serialize))
        msg = f"{where}: annotate the serializer's return type, the events' payload (-> T)."
        raise ImproperlyConfigured(msg)
    return returned


def _named(observer: Observer[Any], keys: Iterable[GroupKey]) -> list[str]:
    """The names of ``observer``'s groups ``keys``."""
    return [observer.group(*map(str, key)) for key in keys]


class BoundObserver(Generic[T]):
    """An observer on one connection: subscribe the running action's request_id to a group."""

    def __init__(self, consumer: AsyncAPIConsumer, observer: Observer[T]) -> None:
        self.consumer = consumer
        self.observer = observer

    async def subscribe(self, *key: str | int) -> None:
        """Subscribe the running action's request_id to the group ``key`` (``()``: every
        event); subscribing it again replaces its subscription."""
        context = self.consumer.context
        if context.request_id is None:
            raise ParseError(f"{context.action} needs a request_id: its events carry it.")
        [group] = _named(self.observer, [key])
        subscription = Subscription(context.request_id, group, self.observer, context)
        await self.consumer.subscriptions.add(subscription, limit=get_settings().max_subscriptions)

    async def unsubscribe(self) -> bool:
        """End this observer's subscription of the running action's request_id; whether it
        had one."""
        subscriptions = self.consumer.subscriptions
        request_id = self.consumer.context.request_id
        return await subscriptions.remove(request_id, self.observer) is not None


class _Declared(Generic[T]):
    """A consumer class attribute that becomes an observer when the class is created."""

    observer: Observer[T]

    def _bind(self, observer: Observer[T]) -> None:
        self.observer = observer

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(
        self, instance: AsyncAPIConsumer, owner: type | None = None
    ) -> BoundObserver[T]: ...
    def __get__(
        self, instance: AsyncAPIConsumer | None, owner: type | None = None
    ) -> Self | BoundObserver[T]:
        if instance is None:
            return self
        return BoundObserver(instance, self.observer)


class ObservedModel(_Declared[T], Generic[M, T]):
    """What ``observe()`` returns: see there."""

    def __init__(
        self,
        model: type[M],
        serialize: Callable[[M], T],
        *,
        groups: Callable[[M], Iterable[GroupKey]] | None,
        facts: Callable[[M], Facts],
        many_to_many: bool,
    ) -> None:
        self._arguments = (model, serialize, groups, facts, many_to_many)
        self._data_type = _payload_type(serialize)

    def __set_name__(self, owner: type, name: str) -> None:
        model, serialize, groups, facts, many_to_many = self._arguments
        identity = f"{owner.__module__}.{owner.__qualname__}.{name}"

        def group_names(instance: M) -> list[str]:
            return _named(observer, [()] if groups is None else groups(instance))

        observer = ModelObserver(
            model,
            identity,
            serialize=serialize,
            data_type=self._data_type,
            groups=group_names,
            facts=facts,
            many_to_many=many_to_many,
        )
        self._bind(observer)


class ObservedSignal(_Declared[T]):
    """What ``observe_signal()`` returns: see there."""

    def __init__(
        self,
        signal: Signal,
        serialize: Callable[..., T],
        *,
        groups: Callable[..., Iterable[GroupKey]] | None,
        action: str | None,
    ) -> None:
        self._arguments = (signal, serialize, groups, action)
        self._data_type = _payload_type(serialize)

    def __set_name__(self, owner: type, name: str) -> None:
        signal, serialize, groups, action = self._arguments
        identity = f"{owner.__module__}.{owner.__qualname__}.{name}"

        # A signal's keyword arguments differ from signal to signal.
        def group_names(**arguments: Any) -> list[str]:
            return _named(observer, [()] if groups is None else groups(**arguments))

        observer = SignalObserver(
            signal,
            identity,
            serialize=serialize,
            data_type=self._data_type,
            action=action or name,
            groups=group_names,
        )
        self._bind(observer)


def observe(
    model: type[M],
    serialize: Callable[[M], T],
    *,
    groups: Callable[[M], Iterable[GroupKey]] | None = None,
    facts: Callable[[M], Facts] = row_facts,
    many_to_many: bool = False,
) -> ObservedModel[M, T]:
    """Observe ``model`` (DCRF's ``@model_observer``): each committed change of a row is one
    event, ``serialize(row)`` serialized once, sent to the groups ``groups(row)`` names (by
    default, one group for every row). Its frames carry the subscription's request_id and the
    change's action: ``create`` and ``update`` (200) with the payload, ``delete`` (204) with
    ``{"pk": ...}``. Delivery checks the consumer's object permissions against the row rebuilt
    from ``facts(row)`` (by default, its concrete fields).
    """
    return ObservedModel(model, serialize, groups=groups, facts=facts, many_to_many=many_to_many)


# The serializer takes the signal's keyword arguments, which each signal defines.
def observe_signal(
    signal: Signal,
    serialize: Callable[..., T],
    *,
    groups: Callable[..., Iterable[GroupKey]] | None = None,
    action: str | None = None,
) -> ObservedSignal[T]:
    """Observe ``signal`` (DCRF's ``@observer``): each sending is one event, after commit,
    ``serialize(**arguments)`` serialized once (``sender`` among the arguments), sent to the
    groups ``groups(**arguments)`` names (by default, one group for every sending). Its frames
    carry the subscription's request_id, status 200 and ``action`` (by default, the attribute's
    name). Permissions are checked when subscribing only: a signal has no row to check.
    """
    return ObservedSignal(signal, serialize, groups=groups, action=action)
