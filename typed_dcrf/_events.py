"""The event path, emitting side: a row change → after commit → one serialized event per
observer → ``group_send`` of the finished payload.

A change is recorded with ``on_commit`` on the row's own database, so nothing is sent for a
rolled-back transaction or savepoint. At commit, the first change of a row in the transaction
reads the row once (its final state: several saves give one event) and every later change of
it is skipped; the observer serializes it once, whatever the number of subscribers. Where the
process can know nobody listens (the in-memory layer), nothing is read or sent.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from typed_dcrf._changelog import changelog
from typed_dcrf._exception_handler import LAYER_UNAVAILABLE
from typed_dcrf.db import caller_loop, scheduled_sends
from typed_dcrf.types import JSONValue

if TYPE_CHECKING:
    from typed_dcrf.observers import ModelObserver

logger = logging.getLogger("typed_dcrf")

ChangeAction: TypeAlias = Literal["create", "update", "delete"]
"""What happened to a row."""

EVENT = "typed_dcrf.event"
"""The type of the layer message an event travels in (``typed_dcrf_event`` handles it)."""

_observers: dict[type[Model], weakref.WeakSet[ModelObserver[Any, Any]]] = {}
_pending_sends: set[asyncio.Task[None]] = set()


@dataclass(eq=False)
class _Local:
    """What this process knows of the subscriptions on one in-memory layer."""

    on_event_lost: dict[str, Callable[[], None]] = field(
        default_factory=dict[str, Callable[[], None]]
    )
    """What to do, by channel name, when the layer drops an event for that channel (a
    connection with subscriptions registers itself): its channel is full, or the layer forgot
    it."""
    subscribed_channels: dict[str, set[str]] = field(default_factory=dict[str, set[str]])
    """The channels the subscriptions put in each group: the layer removes a channel from every
    group, silently, when a message waits on it longer than its ``expiry``."""


_locals: weakref.WeakKeyDictionary[InMemoryChannelLayer, _Local] = weakref.WeakKeyDictionary()
"""By in-memory layer (two of them, other aliases or settings, know nothing of each other's
channels); nothing is kept for another layer, whose groups are not this process's."""


def local_state(layer: object) -> _Local | None:
    """What is kept for ``layer``'s subscriptions, if it is an in-memory layer."""
    if not isinstance(layer, InMemoryChannelLayer):
        return None
    state = _locals.get(layer)
    if state is None:
        state = _locals[layer] = _Local()
    return state


def subscribed(layer: object, group: str, channel: str) -> None:
    """``channel`` joined ``group`` for its subscriptions."""
    state = local_state(layer)
    if state is not None:
        state.subscribed_channels.setdefault(group, set()).add(channel)


def unsubscribed(layer: object, group: str, channel: str) -> None:
    """``channel`` left ``group``: its subscriptions of it ended."""
    state = local_state(layer)
    channels = None if state is None else state.subscribed_channels.get(group)
    if state is not None and channels is not None:
        channels.discard(channel)
        if not channels:
            del state.subscribed_channels[group]


def still_in_group(layer: InMemoryChannelLayer, group: str, channel: str) -> bool:
    """Whether the in-memory layer still has ``channel`` in ``group`` (it removes a channel
    from every group, silently, when a message expired on it)."""
    members: Mapping[str, object] = layer.groups.get(group, {})
    return channel in members


def register(observer: ModelObserver[Any, Any]) -> None:
    """Send ``observer``'s events for every change of its model, from now on."""
    model = observer.model
    # django-stubs leave Signal.connect's receiver partly unknown to pyright.
    if model not in _observers:
        _observers[model] = weakref.WeakSet()
        uid = f"typed_dcrf:{model._meta.label}"
        post_save.connect(_saved, sender=model, dispatch_uid=uid, weak=False)  # pyright: ignore[reportUnknownMemberType]
        post_delete.connect(_deleted, sender=model, dispatch_uid=uid, weak=False)  # pyright: ignore[reportUnknownMemberType]
    _observers[model].add(observer)
    if observer.many_to_many:
        for m2m in model._meta.many_to_many:
            uid = f"typed_dcrf:{model._meta.label}.{m2m.name}"
            through = m2m.remote_field.through
            m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=uid, weak=False)  # pyright: ignore[reportUnknownMemberType]


def _saved(sender: type[Model], instance: Model, created: bool, using: str, **_: object) -> None:
    changed(instance, "create" if created else "update", using)


def _deleted(sender: type[Model], instance: Model, using: str, **_: object) -> None:
    changed(instance, "delete", using)


def _m2m_changed(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    model: type[Model],
    pk_set: set[Any] | None,
    using: str,
    **_: object,
) -> None:
    """A many-to-many change is an update of the rows observed with ``many_to_many``: of
    ``instance`` from the field's side, of the rows ``pk_set`` names from the other (those it
    is about to clear, for a clear)."""
    if not reverse:
        if action in ("post_add", "post_remove", "post_clear"):
            changed(instance, "update", using, many_to_many=True)
        return
    if action in ("post_add", "post_remove"):
        pks: Iterable[Any] = pk_set or ()
    elif action == "pre_clear":  # Django's clear() runs in a transaction: sent after it
        field = next(f for f in model._meta.many_to_many if f.remote_field.through is sender)
        related = model._base_manager.db_manager(using).filter(**{field.name: instance.pk})
        pks = related.values_list("pk", flat=True)
    else:
        return
    for pk in pks:
        changed(row_of(model, pk, using), "update", using, many_to_many=True)


def row_of(model: type[Model], pk: object, using: str) -> Model:
    """An unsaved ``model`` with only ``pk``, of the database ``using``: a change known by its
    key (its state is read at commit)."""
    row = model(pk=pk)
    row._state.db = using
    return row


def forget_logs() -> None:
    """Forget this process's in-memory logs and stop keeping them for clients that left (a
    test's subscriptions end with the test)."""
    changelog.cache_clear()
    for observers in _observers.values():
        for observer in observers:
            observer.idle_until = 0.0


def changed(
    instance: Model, action: ChangeAction, using: str | None, *, many_to_many: bool = False
) -> None:
    """Record that ``instance`` changed, for every observer of its model (after commit)."""
    alias = using or instance._state.db or DEFAULT_DB_ALIAS
    observers = [
        observer
        for observer in _observers.get(type(instance), ())
        if observer.many_to_many or not many_to_many
    ]
    if not observers:
        return
    batch = _batch(alias)
    # A copy: Django clears the primary key of a deleted instance once it is gone.
    key = json.dumps(instance.pk, default=str)
    snapshot = Change(alias, instance.pk, key, action, copy.copy(instance))
    for observer in observers:
        connections[alias].on_commit(
            functools.partial(batch.publish, observer, snapshot), robust=True
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a row, as it was recorded."""

    alias: str
    pk: Any  # a primary key, of whatever type the model's key has
    key: str
    """The primary key as text: the row's key among the changes of a transaction."""
    action: ChangeAction
    instance: Model
    """The row as it was when the change was made (what a delete's groups are read from)."""


@dataclass(eq=False)
class _Batch:
    """The changes one transaction of one database recorded; at commit, the first one of each
    row publishes it, the row read once for all the model's observers."""

    ran: bool = False
    published: set[tuple[int, str]] = field(default_factory=set[tuple[int, str]])
    rows: dict[tuple[type[Model], str], tuple[int | None, Model | None]] = field(
        default_factory=dict[tuple[type[Model], str], tuple[int | None, Model | None]]
    )

    def publish(self, observer: ModelObserver[Any, Any], change: Change) -> None:
        self.ran = True
        if (id(observer), change.key) in self.published:
            return  # an earlier change of the row published its final state
        self.published.add((id(observer), change.key))
        try:
            publish(observer, change, self.rows)
        except Exception:
            logger.exception("Publishing a change of %r failed", change.instance)


_BATCH = "_typed_dcrf_batch"


def _batch(alias: str) -> _Batch:
    """The batch of the transaction running on ``alias`` in this thread (a new one outside a
    transaction, or once the last one has committed)."""
    connection = connections[alias]
    batch: _Batch | None = connection.__dict__.get(_BATCH)
    if batch is None or batch.ran or not connection.in_atomic_block:
        batch = _Batch()
        connection.__dict__[_BATCH] = batch
    return batch


def publish(
    observer: ModelObserver[Any, Any],
    change: Change,
    rows: dict[tuple[type[Model], str], tuple[int | None, Model | None]],
) -> None:
    """Read the row's committed state (once for the batch whose ``rows`` these are),
    serialize it once, and send it to its groups."""
    layer = get_channel_layer()
    if layer is None:
        return
    # The in-memory layer's groups are this process's: with nobody listening to the observer,
    # nothing is read (unless its log must be kept); with nobody in the row's groups, nothing is
    # serialized.
    local = layer if isinstance(layer, InMemoryChannelLayer) else None
    logged = observer.log_size > 0 and (local is None or observer.keeps_log())
    if local and not observer.subscriptions and not logged:
        if observer.log_size:  # a change not logged: nobody can resume across it
            changelog().forget(observer.list_group(change.alias))
        return
    version, row = _read(observer, change, rows)
    if row is None and change.action == "create":
        return  # made and removed in one transaction: nothing to tell
    source = change.instance if row is None else row
    groups = observer.groups_of(source)
    if local and not logged and not _anyone_in(local, groups):
        return
    pk = observer.json_pk(change.pk)
    if row is None:
        action: ChangeAction = "delete"
        data = json.dumps({"pk": pk})
    else:
        action = "update" if change.action == "delete" else change.action
        data = observer.dump(row)
    facts = observer.facts(source)
    messages: list[Mapping[str, JSONValue]] = [
        {"type": EVENT, "group": group, "action": action, "pk": pk, "data": data, "facts": facts}
        for group in groups
    ]
    if version is not None:
        messages = [{**message, "version": version} for message in messages]
        if logged:
            log = observer.list_group(change.alias)
            entry = next((message for message in messages if message["group"] == log), None)
            if entry is not None:
                changelog().append(log, version, entry, observer.log_size)
    send(layer, messages)


def _read(
    observer: ModelObserver[Any, Any],
    change: Change,
    rows: dict[tuple[type[Model], str], tuple[int | None, Model | None]],
) -> tuple[int | None, Model | None]:
    """The row's committed state, read once for the batch; for a versioned observer, with the
    version taken before the read (so a read for another observer does not do)."""
    key = (observer.model, change.key)
    cached = rows.get(key)
    if cached is not None and (cached[0] is not None or not observer.versioned):
        return cached
    version = changelog().next_version() if observer.versioned else None
    manager = observer.model._base_manager.db_manager(change.alias)
    rows[key] = (version, manager.filter(pk=change.pk).first())
    return rows[key]


def _anyone_in(layer: InMemoryChannelLayer, groups: Iterable[str]) -> bool:
    members: Mapping[str, object] = layer.groups
    return any(members.get(group) for group in groups)


def after_commit(messages: list[Mapping[str, JSONValue]], using: str = DEFAULT_DB_ALIAS) -> None:
    """Send ``messages`` once the running transaction commits (at once outside one)."""
    connections[using].on_commit(functools.partial(_send_now, messages), robust=True)


def _send_now(messages: list[Mapping[str, JSONValue]]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        send(layer, messages)


def send(layer: BaseChannelLayer, messages: Iterable[Mapping[str, JSONValue]]) -> None:
    """``group_send`` every message: on the event loop that called into this thread without
    waiting for it, as a task of this thread's running loop, or on a loop of its own."""
    batch = list(messages)
    if not batch:
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        task = running.create_task(_send_all(layer, batch))
        _pending_sends.add(task)
        task.add_done_callback(_sent)
        return
    caller = caller_loop.get(None)
    if caller is not None and caller.is_running():
        sending = asyncio.run_coroutine_threadsafe(_send_all(layer, batch), caller)
        sending.add_done_callback(_sent)
        pending = scheduled_sends.get(None)
        if pending is not None:
            pending.append(sending)
        return
    async_to_sync(_send_all)(layer, batch)


async def _send_all(layer: BaseChannelLayer, messages: list[Mapping[str, JSONValue]]) -> None:
    for message in messages:  # each its own: one that fails does not hold back the others
        group = str(message["group"])
        try:
            # The layer's stubs take the message as a dict of anything. Not tried again: a send
            # cut after Redis ran it would be delivered twice (redis-py retries as it is told).
            if isinstance(layer, InMemoryChannelLayer):
                await _group_send_in_memory(layer, group, dict(message))
            else:
                await layer.group_send(group, dict(message))
        except LAYER_UNAVAILABLE as exc:
            logger.error("Sending an event to the group %r failed: %r", group, exc)


async def _group_send_in_memory(
    layer: InMemoryChannelLayer, group: str, message: dict[str, Any]
) -> None:
    """The in-memory layer's ``group_send``, member by member, telling each subscribed
    connection whose event is lost: its channel is full (channels' ``group_send`` drops the
    event silently), or the layer removed it from the group (a message expired on it), so that
    its subscriptions do not go on without it. Without channels' sweep of every channel of the
    process for expired messages, which its ``receive`` makes anyway."""
    state = local_state(layer)
    assert state is not None
    subscribed_here = list(state.subscribed_channels.get(group, ()))
    lost = [channel for channel in subscribed_here if not still_in_group(layer, group, channel)]
    members: Mapping[str, object] = layer.groups.get(group, {})
    for channel in list(members):
        try:
            await layer.send(channel, message)
        except ChannelFull:
            lost.append(channel)
    for channel in lost:
        on_lost = state.on_event_lost.get(channel)
        if on_lost is not None:
            on_lost()


def _sent(sending: asyncio.Task[None] | Future[None]) -> None:
    """A send has ended (a task of this thread's loop, or the future of another's): log why
    it failed, if it did."""
    if isinstance(sending, asyncio.Task):
        _pending_sends.discard(sending)
    if not sending.cancelled() and (exc := sending.exception()) is not None:
        logger.error("Sending an event failed", exc_info=exc)
