"""The event path, receiving side: one connection's subscriptions, and delivering an event to
them.

A subscription is a request_id the client chose, listening to one group of one observer. An
event arriving for a group is checked against each of its subscriptions' permissions in memory
(the row rebuilt from the event's facts, checked with ``has_object_permission``), then sent
with that subscription's request_id: the payload, serialized once where the change was made, is
spliced into each frame as it is. A subscription whose check refuses gets one 401/403 frame and
ends.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from channels.layers import InMemoryChannelLayer
from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
from django.db.models import Model

from typed_dcrf import _envelope, db
from typed_dcrf._access import LOST, revoked
from typed_dcrf._changelog import IDLE_SECONDS
from typed_dcrf._checks import (
    OBJECT,
    REFUSED,
    Node,
    Subject,
    Verdict,
    evaluate,
    evaluate_sync,
    raise_if_refused,
)
from typed_dcrf._events import local_state, still_in_group, subscribed, unsubscribed
from typed_dcrf._exception_handler import handle_exception, logger
from typed_dcrf._groups import keep_joined, leave_group
from typed_dcrf._layer_watch import join, layer_call, leave
from typed_dcrf._live import LiveQuery
from typed_dcrf._matching import fallbacks
from typed_dcrf._outbox import SLOW_CLIENT, Outbox
from typed_dcrf.conf import get_settings
from typed_dcrf.context import ActionContext
from typed_dcrf.exceptions import NotAuthenticated, ParseError, ServiceUnavailable, Throttled
from typed_dcrf.observers import ModelObserver, Observer
from typed_dcrf.types import JSONValue

if TYPE_CHECKING:
    from typed_dcrf.consumers import AsyncAPIConsumer

STATUS = {"create": 200, "update": 200, "delete": 204}
"""The ``response_status`` of each event, as DCRF sends them."""

INTERRUPTED = "This subscription's events were interrupted: subscribe again."
"""The 503 detail that ends a subscription whose events the layer may have lost."""

DROPPED = (
    "the channel layer dropped an event for it (its channel was full, or a message waited on "
    "it past the layer's expiry: raise the layer's capacity, or give it fewer connections a "
    "process)"
)


def request_key(request_id: JSONValue) -> str:
    """One string per distinct request_id (``1`` and ``"1"`` are two)."""
    return json.dumps(request_id, sort_keys=True)


@dataclass(eq=False)
class Subscription:
    """One subscription: a request_id listening to one group of one observer."""

    request_id: JSONValue
    group: str
    observer: Observer[Any]
    context: ActionContext
    """The subscribing action's context: its user, action and arguments, for the checks."""
    one_row: bool = False
    """An instance subscription: a refused event ends it with a 401/403 frame (in one that
    hears of many rows, a row the subscriber may not see is skipped)."""
    still_visible: Callable[[Any], Awaitable[bool]] | None = None
    """An extra check per delivered event (the row is still in the consumer's queryset)."""
    live: LiveQuery | None = None
    """A list subscription's set and the client's view of it."""
    key: str = field(init=False)
    """The request_id as text: the subscription's key on its connection."""

    def __post_init__(self) -> None:
        self.key = request_key(self.request_id)


@dataclass(eq=False)
class Subscriptions:
    """The subscriptions of one connection, by request_id and by group."""

    consumer: AsyncAPIConsumer
    by_request: dict[str, Subscription] = field(default_factory=dict[str, Subscription])
    by_group: dict[str, dict[str, Subscription]] = field(
        default_factory=dict[str, dict[str, Subscription]]
    )
    _refresher: asyncio.Task[None] | None = None
    outbox: Outbox = field(init=False)
    """The events waiting to go out to this client."""
    _too_slow: bool = False
    """Closed as too slow (or closed): nothing more is queued."""
    _sent: int = 0
    _closing: asyncio.Task[None] | None = None
    _membership: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held around each ``group_add`` and ``group_discard`` of this connection: over a pool of
    connections, Redis could apply a later ``group_add`` of a group before an earlier
    ``group_discard`` of it (ending a subscription while another joins the group again)."""
    _joining: dict[str, asyncio.Event] = field(default_factory=dict[str, asyncio.Event])
    """The groups whose ``group_add`` is under way, each set when it has ended: another
    subscription of the group waits for it (it is not joined until then, and may never be)."""

    def __post_init__(self) -> None:
        self.outbox = Outbox(
            self.consumer.send_envelope,
            self.consumer.server_buffered,
            high_water=get_settings().outgoing_high_water,
        )

    async def add(self, subscription: Subscription, *, limit: int) -> None:
        """Listen for ``subscription`` (replacing one with its request_id), joining its group
        first; ``Throttled`` beyond ``limit`` subscriptions; ``NotAuthenticated`` when the
        connection lost the access its action started with (``revoke`` could not end it)."""
        if revoked(subscription.context.user, self.consumer.scope):
            raise NotAuthenticated(LOST)
        if cast("object", self.consumer.channel_layer) is None:  # typed as always set; it is not
            msg = "Subscriptions need a channel layer: set CHANNEL_LAYERS in the settings."
            raise ImproperlyConfigured(msg)
        key = subscription.key
        if key not in self.by_request and len(self.by_request) >= limit:
            msg = f"A connection may hold at most {limit} subscriptions; unsubscribe one first."
            raise Throttled(detail=msg)
        held = self.by_request.get(key)
        if held is not None and held.live is not None and held.live.waiting is not None:
            msg = "A list subscription with this request_id is being set up: await its reply."
            raise ParseError(msg)
        await self.remove(subscription.request_id)
        layer = self.consumer.channel_layer
        await join(self, layer)  # first: a restart after group_add is then noticed
        while (joining := self._joining.get(subscription.group)) is not None:
            await joining.wait()  # then joined, or not: this one tries again
        members = self.by_group.get(subscription.group)
        if members is None:
            if not self.by_group:
                self._watch_channel()
            members = self.by_group[subscription.group] = {}
            joining = self._joining[subscription.group] = asyncio.Event()
            try:
                await self._group_add(subscription.group)
            except BaseException:
                # Still empty: the group's other subscriptions wait for this join to end.
                self.by_group.pop(subscription.group, None)
                if not self.by_request:
                    leave(self, layer)
                raise
            finally:
                del self._joining[subscription.group]
                joining.set()
            subscribed(layer, subscription.group, self.consumer.channel_name)
        if revoked(subscription.context.user, self.consumer.scope):  # while it joined
            if not members and self.by_group.pop(subscription.group, None) is not None:
                await self._discard(subscription.group)
            if not self.by_request:
                leave(self, layer)
            raise NotAuthenticated(LOST)
        members[key] = subscription
        self.by_request[key] = subscription
        subscription.observer.subscriptions += 1
        live = subscription.live
        if live is not None and live.predicate is None:
            fallbacks.add(live.queryset, live.sql)
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh())

    async def remove(
        self,
        request_id: JSONValue,
        observer: Observer[Any] | None = None,
        *,
        live: bool | None = None,
    ) -> Subscription | None:
        """End the subscription of ``request_id`` (if it is ``observer``'s, and a list
        subscription or not as ``live`` says, when given), its waiting events dropped, leaving
        its group if it was the last."""
        key = request_key(request_id)
        subscription = self.by_request.get(key)
        if subscription is None or observer not in (None, subscription.observer):
            return None
        if live is not None and live != (subscription.live is not None):
            return None
        return await self.end(subscription)

    async def end(self, subscription: Subscription) -> Subscription | None:
        """End ``subscription`` itself, if it is still this connection's."""
        key = subscription.key
        if self.by_request.get(key) is not subscription:
            return None
        del self.by_request[key]
        self.outbox.discard(f"{key} ")
        await self._leave(subscription)
        return subscription

    async def remove_where(self, matches: Callable[[Subscription], bool]) -> None:
        """End every subscription ``matches`` accepts."""
        ended = [sub for sub in self.by_request.values() if matches(sub)]
        for subscription in ended:
            await self.end(subscription)

    async def revoke(self) -> None:
        """End every subscription with one 401 frame: the connection lost its access."""
        await self._end_all(NotAuthenticated.status_code, LOST)

    async def interrupt(self) -> None:
        """The layer may have lost this connection's groups and events (its Redis restarted, or
        could not be reached): end every subscription with a 503 frame, to be made again."""
        await self._end_all(ServiceUnavailable.status_code, INTERRUPTED)

    async def _end_all(self, status: int, detail: str) -> None:
        """End every subscription with one ``status`` frame saying ``detail``, queued after the
        events waiting for the client. Run by the consumer (a revocation) and by the layer's
        watch (an interruption), perhaps at once: a subscription gets the frame of whichever
        ended it."""
        capacity = get_settings().max_outgoing_events
        for subscription in list(self.by_request.values()):
            if await self.end(subscription) is None:
                continue  # ended meanwhile, with its own frame
            action, request_id = subscription.context.action, subscription.request_id
            frame = _envelope.failure(action, request_id, status, [detail])
            if not self.outbox.put(f"{subscription.key} ended", frame, capacity=capacity):
                await self._close_slow_client(capacity)
                return

    async def _refresh(self) -> None:
        """Join the groups again before the layer forgets them (``group_expiry``: channels-redis
        drops a membership a day after it was made)."""
        layer = self.consumer.channel_layer
        await keep_joined(layer, lambda: self.by_group, self._rejoin, "a subscription's group")

    async def _rejoin(self, group: str) -> None:
        if group in self.by_group:  # not left meanwhile
            await self._group_add(group)

    async def _group_add(self, group: str) -> None:
        async with self._membership:
            await layer_call(
                self.consumer.channel_layer.group_add, group, self.consumer.channel_name
            )

    def _watch_channel(self) -> None:
        """Be told when the in-memory layer drops an event for this connection."""
        state = local_state(self.consumer.channel_layer)
        if state is None:
            return  # another layer's drops are not seen here
        loop = asyncio.get_running_loop()

        def dropped() -> None:  # called where the event was sent: perhaps another loop
            loop.call_soon_threadsafe(self._dropped)

        state.on_event_lost[self.consumer.channel_name] = dropped

    def _dropped(self) -> None:
        """The channel layer lost an event for this connection (its channel was full, or a
        message expired on it): its subscriptions can no longer be trusted, so it is closed as a
        slow client is (unless it is closing already)."""
        if self._too_slow or self._closing is not None:
            return
        self._closing = asyncio.create_task(self._close_for(DROPPED))

    async def _close_slow_client(self, capacity: int) -> None:
        """``capacity`` events wait for a client that does not read them: close it."""
        await self._close_for(f"{capacity} events wait for it (MAX_OUTGOING_EVENTS)")

    async def _close_for(self, reason: str) -> None:
        """Close the connection with 4429, its waiting events dropped, logging ``reason``."""
        self._too_slow = True
        await self.outbox.close()
        logger.warning("Closing a connection of %s: %s", type(self.consumer).__qualname__, reason)
        await self.consumer.close(code=SLOW_CLIENT)

    async def close(self) -> None:
        """End them all (the connection is closing): a late drop of an event closes nothing."""
        self._too_slow = True
        state = local_state(self.consumer.channel_layer)
        if state is not None:
            state.on_event_lost.pop(getattr(self.consumer, "channel_name", ""), None)
        closing = self._closing
        if closing is not None and closing is not asyncio.current_task():
            closing.cancel()
            await asyncio.gather(closing, return_exceptions=True)
        await self.outbox.close()
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        for subscription in self.by_request.values():
            _ended(subscription)
        self.by_request.clear()
        leave(self, self.consumer.channel_layer)
        groups, self.by_group = list(self.by_group), {}
        for group in groups:
            await self._discard(group)

    async def _leave(self, subscription: Subscription) -> None:
        _ended(subscription)
        members = self.by_group.get(subscription.group, {})
        members.pop(subscription.key, None)
        if not self.by_request:
            leave(self, self.consumer.channel_layer)
        if not members and self.by_group.pop(subscription.group, None) is not None:
            await self._discard(subscription.group)

    async def _discard(self, group: str) -> None:
        """Leave ``group``; a layer that cannot be reached is logged (its membership expires)."""
        layer, channel = self.consumer.channel_layer, self.consumer.channel_name
        unsubscribed(layer, group, channel)
        async with self._membership:
            if group not in self.by_group:  # else subscribed to again meanwhile
                await leave_group(layer, group, channel)

    async def deliver(self, message: Mapping[str, Any], permissions: Node | None) -> None:
        """Send the event in ``message`` to each of its group's subscriptions that may see it."""
        group = str(message["group"])
        members = self.by_group.get(group)
        if not members or self._too_slow:
            return
        layer = self.consumer.channel_layer
        if isinstance(layer, InMemoryChannelLayer) and not still_in_group(
            layer, group, self.consumer.channel_name
        ):
            self._dropped()  # the layer forgot this channel: a message expired on it
            return
        action = str(message["action"])
        status = STATUS.get(action, 200)
        data = str(message["data"])
        # A row's newer state replaces its waiting one; a signal's events are each their own.
        self._sent += 1
        row_key = json.dumps(message["pk"]) if "pk" in message else f"#{self._sent}"
        capacity = get_settings().max_outgoing_events
        # Every subscription of a group is of one observer (groups are named after it): the
        # row the checks read is rebuilt once for all of them.
        observer = next(iter(members.values())).observer
        shadow: Model | None = None
        if isinstance(observer, ModelObserver):
            rows = cast("ModelObserver[Model, Any]", observer)  # isinstance cannot say its M
            shadow = rows.shadow(message["facts"])
        for subscription in list(members.values()):
            if subscription.live is not None:
                delivered = await self._deliver_live(
                    subscription, message, row_key, shadow, permissions
                )
                if not delivered:
                    return
                continue
            refusal = await self._refusal(subscription, action, shadow, permissions)
            if refusal is None:
                frame = _envelope.success(action, subscription.request_id, status, data)
            elif not subscription.one_row:
                continue  # a row this subscriber may not see: skipped
            else:
                await self.remove(subscription.request_id)
                code, errors = refusal
                frame = _envelope.failure(action, subscription.request_id, code, errors)
            key = f"{subscription.key} {row_key}"
            if not self.outbox.put(key, frame, capacity=capacity):
                await self._close_slow_client(capacity)
                return

    async def _deliver_live(
        self,
        subscription: Subscription,
        message: Mapping[str, Any],
        row: str,
        shadow: Model | None,
        permissions: Node | None,
    ) -> bool:
        """Queue what the change in ``message`` (of the row whose key is ``row``) is to a list
        subscription's client (or keep it while the snapshot is read); ``False`` when the
        client has been closed as too slow."""
        live = cast("LiveQuery", subscription.live)
        if live.waiting is None:
            frame = await self._live_frame(subscription, live, message, row, shadow, permissions)
            return frame is None or await self._queue_live(subscription, frame)
        # While the snapshot is read, a row's latest change is all that waits (an older one
        # would be dropped for it), and none of a row outside the set that the snapshot cannot
        # have sent (made by this change, or passed without sending); at most
        # MAX_OUTGOING_EVENTS rows wait on the connection.
        if (
            live.predicate is not None
            and shadow is not None
            and row not in live.rows.members
            and (message["action"] == "create" or live.passed(message["pk"]))
            and not (message["action"] != "delete" and live.predicate(shadow))
        ):
            return True
        if row not in live.waiting:
            capacity = get_settings().max_outgoing_events
            if self._rows_waiting() >= capacity:
                await self._close_slow_client(capacity)
                return False
        elif int(live.waiting[row]["version"]) > int(message["version"]):
            return True
        live.waiting.pop(row, None)  # to the end: they go out in the order of their last change
        live.waiting[row] = message
        return True

    def _rows_waiting(self) -> int:
        return sum(
            len(sub.live.waiting)
            for sub in self.by_request.values()
            if sub.live is not None and sub.live.waiting is not None
        )

    async def caught_up(self, subscription: Subscription, permissions: Node | None) -> None:
        """A list subscription's reply is sent: queue a resume's events, then the events that
        came meanwhile; the next ones are delivered as they come."""
        if self.by_request.get(subscription.key) is not subscription:
            return  # replaced or ended while its reply went out
        live = cast("LiveQuery", subscription.live)
        resent, live.resent = live.resent, []
        for action, body, version in resent:  # part of the reply: sent as the pages are
            await self.consumer.send_envelope(
                self._event_frame(subscription, live, action, body, version)
            )
        rows = cast("ModelObserver[Model, Any]", subscription.observer)
        waiting = live.waiting or {}
        while waiting and self.by_request.get(subscription.key) is subscription:
            row = next(iter(waiting))
            message = waiting.pop(row)
            shadow = rows.shadow(message["facts"])
            frame = await self._live_frame(subscription, live, message, row, shadow, permissions)
            if frame is not None and not await self._queue_live(subscription, frame):
                return
        live.waiting = None

    async def _live_frame(
        self,
        subscription: Subscription,
        live: LiveQuery,
        message: Mapping[str, Any],
        row: str,
        shadow: Model | None,
        permissions: Node | None,
    ) -> str | None:
        """The frame a change is to a list subscription's client, if any; when whether the row
        is in the set cannot be told (its query failed), an error frame that ends the
        subscription: the client's copy could no longer be trusted."""
        pk = message["pk"]
        version = int(message["version"])
        data = str(message["data"])
        try:
            visible = (
                message["action"] != "delete"
                and shadow is not None
                and await _in_set(live, shadow, (subscription.group, version), pk)
                and await self._refusal(subscription, "update", shadow, permissions) is None
            )
        except Exception as exc:
            status, errors = handle_exception(exc, f"the delivery to {subscription.request_id!r}")
            await self.end(subscription)
            return _envelope.failure(
                str(message["action"]), subscription.request_id, status, errors
            )
        outcome = live.rows.apply(row, version, visible, hash(data) if visible else None)
        if outcome is None:
            return None
        body = f'{{"pk":{row}}}' if outcome == "delete" else data
        return self._event_frame(subscription, live, outcome, body, version)

    @staticmethod
    def _event_frame(
        subscription: Subscription, live: LiveQuery, action: str, body: str, version: int
    ) -> str:
        frame = _envelope.success(action, subscription.request_id, STATUS[action], body)
        return _envelope.with_key(frame, "seq", version) if live.seq else frame

    async def _queue_live(self, subscription: Subscription, frame: str) -> bool:
        """Queue a list event (never coalesced: a list's events keep their order)."""
        capacity = get_settings().max_outgoing_events
        self._sent += 1
        if self.outbox.put(f"{subscription.key} #{self._sent}", frame, capacity=capacity):
            return True
        await self._close_slow_client(capacity)
        return False

    async def _refusal(
        self,
        subscription: Subscription,
        action: str,
        row: Model | None,
        permissions: Node | None,
    ) -> tuple[int, list[JSONValue]] | None:
        """Why ``subscription`` may not see the event of ``row`` (status and errors), or
        ``None``."""
        if row is None:
            return None  # a signal's event has no row to check
        if subscription.one_row and action == "delete":
            return None  # the subscriber could see the row until it went
        subject = Subject(self.consumer, subscription.context, "GET", obj=row)
        try:
            if subscription.still_visible is not None and not await subscription.still_visible(row):
                raise_if_refused(REFUSED, subject)  # the row left the consumer's queryset
            if permissions is not None:
                raise_if_refused(await _object_verdict(permissions, subject), subject)
        except Exception as exc:
            status, errors = handle_exception(exc, f"the delivery to {subscription.request_id!r}")
            return status, errors
        return None


async def _object_verdict(permissions: Node, subject: Subject) -> Verdict:
    """The object check, in memory; in the database thread (a trip) if a permission needs it."""
    try:
        return await evaluate(permissions, OBJECT, subject, in_memory=True)
    except SynchronousOnlyOperation:
        return await db.run(evaluate_sync, permissions, OBJECT, subject)


def _ended(subscription: Subscription) -> None:
    observer = subscription.observer
    observer.subscriptions -= 1
    if isinstance(observer, ModelObserver) and not observer.subscriptions:
        observer.idle_until = time.monotonic() + IDLE_SECONDS
    live = subscription.live
    if live is not None and live.predicate is None:
        fallbacks.remove(live.sql)


async def _in_set(live: LiveQuery, row: Model, event: tuple[object, ...], pk: object) -> bool:
    """Whether ``row`` is in the list subscription's set: in memory, or from the database."""
    if live.predicate is not None:
        return live.predicate(row)
    return await fallbacks.contains(live.queryset, live.sql, event, pk)
