"""Instance subscriptions: DCRF's ``subscribe_instance`` and ``unsubscribe_instance``.

``subscribe_instance {pk}`` (201, ``data`` null) subscribes its request_id to the object's
changes; each one arrives with that request_id, ``{"action": "update", "response_status": 200,
"data": <the object, serialized once>}`` or ``{"action": "delete", "response_status": 204,
"data": {"pk": ...}}``. ``unsubscribe_instance`` with the request_id ends it (204).
"""

from __future__ import annotations

from typing import Any, ClassVar

from typed_dcrf import db
from typed_dcrf._observed import EventData, ObservedModelConsumer
from typed_dcrf._subscriptions import Subscription
from typed_dcrf.actions import action
from typed_dcrf.conf import get_settings
from typed_dcrf.exceptions import NotFound, ParseError
from typed_dcrf.generics import LookupValue, M, S
from typed_dcrf.observers import ModelObserver
from typed_dcrf.responses import Response

InstanceData = EventData
"""The payload of an instance event: the serializer's data."""


class ObserveInstanceMixin(ObservedModelConsumer[M, S]):
    """``subscribe_instance`` / ``unsubscribe_instance``, with DCRF's frames.

    Events are serialized once per change, by the consumer's serializer without a request
    (``serializer_class(instance).data``: fields that need the request are not available), and
    checked for each subscriber in memory by its object permissions, against the row rebuilt
    from the event's facts.
    """

    instance_observer: ClassVar[ModelObserver[Any, InstanceData]]
    """Sends this class's instance events: its ``model_observer``."""

    recheck_queryset: ClassVar[bool] = False
    """Also check, for every event and subscriber, that the row is still in ``get_queryset()``
    (a query per subscriber per event); by default only the object permissions are."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "model_observer"):
            cls.instance_observer = cls.model_observer

    @action(method="GET")
    async def subscribe_instance(self, /, **lookup: LookupValue) -> Response[None]:
        """Subscribe this frame's request_id to the object's changes (201; 404 for no object,
        403 when an object permission refuses it). Subscribing again with one request_id
        replaces its subscription."""
        context = self.context
        if context.request_id is None:
            raise ParseError("subscribe_instance needs a request_id: its events carry it.")
        instance = await self.aget_object()
        observer = self.instance_observer
        subscription = Subscription(
            context.request_id,
            observer.instance_group(instance.pk, instance._state.db),
            observer,
            context,
            one_row=True,
            still_visible=self._in_queryset if self.recheck_queryset else None,
        )
        await self.subscriptions.add(subscription, limit=get_settings().max_subscriptions)
        return Response.created(None)

    @action(method="GET")
    async def unsubscribe_instance(self, /, **lookup: LookupValue) -> Response[None]:
        """End this frame's request_id's instance subscription (404 if it has none); without a
        request_id, every instance subscription of this connection to the object (204; 404
        when there is no such object)."""
        observer = self.instance_observer
        request_id = self.context.request_id
        if request_id is not None:
            if await self.subscriptions.remove(request_id, observer, live=False) is None:
                raise NotFound("No subscription has this request_id.")
            return Response.no_content()
        instance = await self.aget_object()
        group = observer.instance_group(instance.pk, instance._state.db)
        await self.subscriptions.remove_where(
            lambda sub: sub.observer is observer and sub.group == group
        )
        return Response.no_content()

    async def _in_queryset(self, row: M) -> bool:
        return await db.run(self.get_queryset().filter(pk=row.pk).exists)
