"""Model observers: which rows' changes a consumer class hears of, what each event carries (its
payload ``T``, serialized once per event), the groups it goes to, and the facts that permission
checks read on delivery, in memory.

Observers register when their consumer class is created; with ``typed_dcrf`` in
``INSTALLED_APPS``, every process imports the installed apps' ``consumers`` modules at start-up
(``OBSERVER_MODULES``), so that saves made by a worker, a management command or the shell send
their events too. ``notify()`` tells observers of changes that send no signals (``update()``,
``bulk_create()``).
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model
from django.dispatch import Signal
from pydantic_core import to_jsonable_python

from typed_dcrf import _events
from typed_dcrf._codec import Codec
from typed_dcrf._events import ChangeAction
from typed_dcrf._groups import group_name
from typed_dcrf.types import JSONValue

M = TypeVar("M", bound=Model)
T = TypeVar("T")

Facts = dict[str, JSONValue]
"""What an event tells permission checks about its row (by default, every concrete field)."""


def row_facts(instance: Model) -> Facts:
    """Every concrete field of ``instance`` by its attribute name (``owner_id``, not ``owner``),
    as JSON values: what the default permission check at delivery rebuilds the row from."""
    return {
        field.attname: to_jsonable_python(field.value_from_object(instance), fallback=str)
        for field in instance._meta.concrete_fields
    }


class Observer(Generic[T]):
    """What a consumer class hears of: events carrying ``T``, serialized once each, sent to
    groups of this observer's own."""

    def __init__(self, identity: str, data_type: object) -> None:
        self.identity: str = _unique(identity)
        """Unique among this process's observers; its groups are named after it."""
        self.data_type: object = data_type
        """``T``, the payload's type (a runtime type form)."""
        self.codec: Codec = Codec(data_type)
        """The payload's JSON: ``T`` out, and back in for the test client."""
        self.subscriptions: int = 0
        """How many subscriptions of this process listen to this observer."""
        _identities[self.identity] = self

    def group(self, *parts: str) -> str:
        """This observer's group named by ``parts`` (for a ``groups`` hook to return)."""
        return group_name(self.identity, *parts)


class ModelObserver(Observer[T], Generic[M, T]):
    """Watches ``model`` for one consumer class: each change becomes one event carrying ``T``.

    Args:
        model: the model whose saves and deletes are observed.
        identity: a name unique to this observer (its consumer class and attribute).
        serialize: the row as the event's ``T``, without a request (it runs once per event,
            in whatever process made the change).
        data_type: ``T`` itself, compiled into the event's JSON serializer.
        groups: the groups a change of a row goes to (by default, the row's own group).
        facts: what permission checks at delivery read (by default, ``row_facts``).
        many_to_many: also observe the model's many-to-many fields.
        versioned: give each event a version (list subscriptions order and de-duplicate by it).
        log_size: keep the latest ``log_size`` events of ``list_group`` for clients that
            resume (with ``versioned``).
    """

    def __init__(
        self,
        model: type[M],
        identity: str,
        *,
        serialize: Callable[[M], T],
        data_type: object,
        groups: Callable[[M], Iterable[str]] | None = None,
        facts: Callable[[M], Facts] = row_facts,
        many_to_many: bool = False,
        versioned: bool = False,
        log_size: int = 0,
    ) -> None:
        super().__init__(identity, data_type)
        self.model = model
        self.serialize = serialize
        self._groups = groups
        self.facts = facts
        """What permission checks at delivery will read of a row."""
        self.many_to_many = many_to_many
        self.versioned = versioned
        self.log_size: int = log_size if versioned else 0
        self.idle_until: float = 0.0
        """Until when (``time.monotonic()``) this process keeps an in-memory log while
        nobody listens: a client that left may come back."""
        _events.register(self)

    def keeps_log(self) -> bool:
        """Whether an in-memory layer's log of this observer is kept now."""
        return self.subscriptions > 0 or time.monotonic() < self.idle_until

    def list_group(self, using: str | None) -> str:
        """The group of every change of a row of the database ``using`` (list subscriptions)."""
        return self.group(using or DEFAULT_DB_ALIAS, "list")

    def instance_group(self, pk: object, using: str | None) -> str:
        """The group of the row whose primary key is ``pk``, in the database ``using``."""
        return self.group(using or DEFAULT_DB_ALIAS, "pk", json.dumps(self.json_pk(pk)))

    def groups_of(self, instance: M) -> list[str]:
        """The groups a change of ``instance`` goes to."""
        if self._groups is None:
            return [self.instance_group(instance.pk, instance._state.db)]
        return list(self._groups(instance))

    def dump(self, instance: M) -> str:
        """``instance`` as the event's JSON payload."""
        return self.codec.dump_json(self.serialize(instance))

    def json_pk(self, pk: object) -> JSONValue:
        return to_jsonable_python(pk, fallback=str)  # type: ignore[no-any-return]

    def row_key(self, pk: object) -> str:
        """The row's key among a list subscription's rows: its primary key as JSON text (as
        the ``pk`` of its events, dumped)."""
        return json.dumps(self.json_pk(pk))

    def shadow(self, facts: Facts) -> M:
        """An unsaved ``model`` built from ``facts``, for permission checks in memory."""
        values: dict[str, object] = {}
        for field in self.model._meta.concrete_fields:
            if field.attname in facts:
                value = facts[field.attname]
                try:
                    values[field.attname] = field.to_python(value)
                except DjangoValidationError:
                    values[field.attname] = value
        return self.model(**values)


class SignalObserver(Observer[T]):
    """Turns each sending of a Django signal into one event carrying ``T``, after commit.

    Args:
        signal: the signal observed (``user_logged_in``, one of your own...).
        identity: a name unique to this observer (its consumer class and attribute).
        serialize: the signal's keyword arguments (``sender`` included) as the event's ``T``.
        data_type: ``T`` itself.
        action: the ``action`` of the event's frames.
        groups: the groups a sending goes to, from the same arguments (by default, one group
            for every sending).
    """

    def __init__(
        self,
        signal: Signal,
        identity: str,
        *,
        serialize: Callable[..., T],
        data_type: object,
        action: str,
        groups: Callable[..., Iterable[str]] | None = None,
    ) -> None:
        super().__init__(identity, data_type)
        self.serialize = serialize
        self.action = action
        self._groups = groups
        # The observer lives as long as its consumer class: a strong reference, on purpose.
        signal.connect(self._received, weak=False, dispatch_uid=self.identity)  # pyright: ignore[reportUnknownMemberType]

    def _received(self, **arguments: Any) -> None:  # a signal's keyword arguments, any
        """Serialize the sending now (its arguments are not kept), send it after commit; a
        failure is logged, never raised into the code that sent the signal."""
        try:
            data = self.codec.dump_json(self.serialize(**arguments))
            groups = [self.group()] if self._groups is None else list(self._groups(**arguments))
        except Exception:
            _events.logger.exception("Serializing a sending of %s failed", self.identity)
            return
        messages: list[Mapping[str, JSONValue]] = [
            {
                "type": _events.EVENT,
                "group": group,
                "action": self.action,
                "data": data,
            }
            for group in groups
        ]
        _events.after_commit(messages)


_identities: weakref.WeakValueDictionary[str, Observer[Any]] = weakref.WeakValueDictionary()


def _unique(identity: str) -> str:
    """``identity``, or ``identity#2``... if another live observer has it (classes made again
    with one name, as in tests): two observers never share a group."""
    candidate, number = identity, 1
    while candidate in _identities:
        number += 1
        candidate = f"{identity}#{number}"
    return candidate


def notify(
    model: type[Model],
    pks: Iterable[object],
    *,
    action: ChangeAction = "update",
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Tell ``model``'s observers that the rows ``pks`` changed, for the changes that send no
    signals (``QuerySet.update()``, ``bulk_create()``, raw SQL); as a save, after commit.

    Each row is read at commit and sent with ``action`` (``create`` or ``update``); one that is
    gone is sent as deleted, to the groups its primary key alone names (its instance
    subscriptions), or not at all with ``action="create"``.
    """
    for pk in pks:
        _events.changed(_events.row_of(model, pk, using), action, using)
