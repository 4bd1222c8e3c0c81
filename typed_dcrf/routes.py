"""``websocket_routes``: the consumers an ASGI application routes websockets to, by path."""

from __future__ import annotations

import typing
from typing import Protocol, TypeAlias

from typed_dcrf.consumers import AsyncAPIConsumer
from typed_dcrf.multiplex import Demultiplexer

Route: TypeAlias = "type[AsyncAPIConsumer] | type[Demultiplexer]"
"""What a websocket path is served by: a consumer class, or a ``Demultiplexer`` of several."""


def websocket_routes(application: object) -> dict[str, Route]:
    """The consumers an ASGI application routes websockets to, by path: through channels'
    ``ProtocolTypeRouter``, middleware (``AuthMiddlewareStack``, origin validators) and
    ``URLRouter`` (nested ones included)."""
    found: dict[str, Route] = {}
    _walk(application, "/", found)
    return found


def _walk(app: object, prefix: str, found: dict[str, Route]) -> None:
    mapping = getattr(app, "application_mapping", None)
    if isinstance(mapping, dict):  # ProtocolTypeRouter
        _walk(typing.cast("dict[str, object]", mapping).get("websocket"), prefix, found)
        return
    routes = getattr(app, "routes", None)
    if isinstance(routes, list):  # URLRouter, nested ones included
        for route in typing.cast("list[_Route]", routes):
            # Django's patterns: "ws/items/" (path) or "^ws/items/$" (re_path).
            _walk(route.callback, prefix + str(route.pattern).lstrip("^").rstrip("$"), found)
        return
    served = getattr(app, "consumer_class", None)
    if isinstance(served, type) and issubclass(served, AsyncAPIConsumer | Demultiplexer):
        found[prefix] = served
        return
    # channels' middleware keep the application they wrap as `inner`, origin validators as
    # `application`.
    inner = getattr(app, "inner", None) or getattr(app, "application", None)
    if inner is not None:
        _walk(inner, prefix, found)


class _Route(Protocol):
    """A Django URL pattern in a ``URLRouter``: its pattern and the ASGI application."""

    pattern: object
    callback: object
