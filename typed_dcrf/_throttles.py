"""Checking a consumer's throttles before an action.

A consumer's ``throttle_classes`` are DRF ``BaseThrottle`` subclasses (DRF's
``DEFAULT_THROTTLE_CLASSES`` by default): ``allow_request(request, view)`` gets a DRF request of
the connection (its user, its client address) and, as the view, the consumer seen through the
action (``ThrottledView``: its ``action`` and ``throttle_scope``). A refusal
is a 429 whose ``data`` is ``{"wait": <seconds>}`` (the longest wait of the throttles that
refused, rounded up; ``null`` where none says).

DRF's own throttles keep their history in Django's cache, which may be a network round trip:
they run in a worker thread (never the database thread). ``ConnectionRateThrottle`` keeps its
history on the connection and runs where the frame is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import sync_to_async
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from typed_dcrf.actions import Action
from typed_dcrf.exceptions import Throttled
from typed_dcrf.throttling import ConnectionRateThrottle

if TYPE_CHECKING:
    from rest_framework.views import APIView


class ThrottledView:
    """What a throttle sees as its view: the consumer, with the action's name as ``action`` (as
    on DRF's viewsets) and the action's ``throttle_scope`` (else the consumer's)."""

    def __init__(self, consumer: object, found: Action[Any, Any]) -> None:
        self.consumer = consumer
        self.action = found.name
        self.throttle_scope: str | None = found.throttle_scope or getattr(
            consumer, "throttle_scope", None
        )

    def __getattr__(self, name: str) -> Any:  # any attribute of the consumer, as it is
        return getattr(self.consumer, name)


async def check_throttles(
    throttle_classes: Sequence[type[BaseThrottle]], request: Request, view: ThrottledView
) -> None:
    """Raise ``Throttled`` (with the longest wait) unless every throttle allows the request."""
    throttles = [throttle_class() for throttle_class in throttle_classes]
    local = [t for t in throttles if isinstance(t, ConnectionRateThrottle)]
    shared = [t for t in throttles if not isinstance(t, ConnectionRateThrottle)]
    refused: list[BaseThrottle] = [t for t in local if not t.allow_request(request, view)]
    if shared:
        refused += await sync_to_async(_refusing, thread_sensitive=False)(shared, request, view)
    if refused:
        waits = [wait for t in refused if (wait := t.wait()) is not None]
        raise Throttled(wait=max(waits) if waits else None)


def _refusing(
    throttles: list[BaseThrottle], request: Request, view: ThrottledView
) -> list[BaseThrottle]:
    # DRF's throttles only read attributes of their view, which a ThrottledView has.
    drf_view = cast("APIView", view)
    return [t for t in throttles if not t.allow_request(request, drf_view)]
