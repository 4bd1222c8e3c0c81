"""The one observer of a model consumer class with subscriptions: its instance subscriptions'
and its list subscriptions' events are one event per change, serialized once for both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.db.models import Model
from rest_framework.utils.serializer_helpers import ReturnDict

from typed_dcrf._overrides import defined_by
from typed_dcrf._shared_serializer import SharedSerializer, shared_serializer
from typed_dcrf.generics import GenericModelConsumer, M, S
from typed_dcrf.observers import ModelObserver

EventData = ReturnDict[str, Any]
"""The payload of an instance or list event: the serializer's data."""


class ObservedModelConsumer(GenericModelConsumer[M, S]):
    """A model consumer whose rows' changes reach its subscriptions."""

    # The observer of each concrete class; its T is the serializer's data for every model.
    model_observer: ClassVar[ModelObserver[Any, EventData]]
    """Sends this class's events (one observer per concrete consumer class)."""

    observe_many_to_many: ClassVar[bool] = False
    """Also send the rows' many-to-many changes (``m2m_changed``) as updates."""

    resume_log_size: ClassVar[int] = 1000
    """How many of the latest list events are kept for clients that resume (0: none)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        actions = cls.actions
        lists = "subscribe_list" in actions
        if hasattr(cls, "model") and (lists or "subscribe_instance" in actions):

            def groups(row: Model) -> list[str]:
                alias = row._state.db
                named = [observer.instance_group(row.pk, alias)]
                return [*named, observer.list_group(alias)] if lists else named

            observer = ModelObserver(
                cls.model,
                f"{cls.__module__}.{cls.__qualname__}",
                serialize=cls.event_data,
                data_type=EventData,
                groups=groups,
                many_to_many=cls.observe_many_to_many,
                versioned=lists,
                log_size=cls.resume_log_size,
            )
            cls.model_observer = observer

    @classmethod
    def event_data(cls, instance: M) -> EventData:
        """An event's ``data``: ``serializer_class(instance).data``, with no request (it runs
        once per change, in the process that made it)."""
        shared = cls._event_serializer()
        if shared is None:
            data: EventData = cls.serializer_class(instance, context=_no_request()).data
            return data
        return ReturnDict(shared.one(instance, _no_request()), serializer=shared.serializer)

    @classmethod
    def _rows_json(cls, rows: Sequence[M]) -> list[str]:
        """Each row's event ``data`` as JSON, as ``event_data`` makes it (a snapshot's rows):
        one serializer for them all, unless ``event_data`` is overridden (DRF builds a
        serializer's fields once per instance: a serializer per row costs ten times more)."""
        codec = cls.model_observer.codec
        if defined_by(cls, "event_data") is not ObservedModelConsumer:
            return [codec.dump_json(cls.event_data(row)) for row in rows]
        shared = cls._event_serializer()
        if shared is None:
            serializer = cls.serializer_class(rows, many=True, context=_no_request())
            return [codec.dump_json(data) for data in serializer.data]
        return [codec.dump_json(data) for data in shared.many(rows, _no_request())]

    @classmethod
    def _event_serializer(cls) -> SharedSerializer | None:
        """The shared serializer events are written with, unless ``share_serializer`` is off."""
        return shared_serializer(cls.serializer_class) if cls.share_serializer else None


def _no_request() -> dict[str, Any]:
    """An event's serializer context: it is written once per change, for every subscriber."""
    return {"request": None, "view": None}
