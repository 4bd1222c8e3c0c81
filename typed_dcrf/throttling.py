"""Throttles of one connection's actions, for a consumer's ``throttle_classes`` (beside DRF's
own, checked as ``typed_dcrf._throttles`` says): ``ConnectionRateThrottle`` counts every action,
``ScopedConnectionRateThrottle`` the actions of each throttle scope apart."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle


class _ConnectionHistory:
    """The cache ``SimpleRateThrottle`` reads and writes, kept on one connection."""

    def __init__(self) -> None:
        self._by_key: dict[str, list[float]] = {}

    def get(self, key: str, default: list[float] | None = None) -> list[float] | None:
        return self._by_key.get(key, default)

    def set(self, key: str, value: list[float], timeout: object = None) -> None:
        self._by_key[key] = value


class ConnectionRateThrottle(SimpleRateThrottle):
    """At most ``rate`` actions per connection (``"100/s"``, ``"1000/min"``...): the class
    attribute, or DRF's ``DEFAULT_THROTTLE_RATES["connection"]``. Its history lives on the
    connection, so it needs no cache and ends with the connection."""

    scope: str | None = "connection"

    def allow_request(self, request: Request, view: Any) -> bool:  # view: a ThrottledView
        consumer = getattr(view, "consumer", view)
        history: _ConnectionHistory | None = getattr(consumer, "_connection_history", None)
        if history is None:
            history = _ConnectionHistory()
            consumer._connection_history = history
        # Only get() and set() are called on it; the stubs want a whole Django cache.
        self.cache = history  # type: ignore[assignment]  # pyright: ignore[reportAttributeAccessIssue]
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return "connection"  # one history per connection object already


class ScopedConnectionRateThrottle(ConnectionRateThrottle, ScopedRateThrottle):
    """At most ``DEFAULT_THROTTLE_RATES[scope]`` actions of one throttle scope per connection:
    DRF's ``ScopedRateThrottle`` (the action's ``@action(throttle_scope=...)``, else the
    consumer's ``throttle_scope``; actions without one are not counted), its history on the
    connection."""

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"scope:{self.scope}"
