"""typed_dcrf: typed, async-first websocket APIs for Django Channels, DCRF-compatible.

Names are imported on first use, so that ``typed_dcrf.exceptions``, ``typed_dcrf.responses`` and
the other modules that do not need Django's settings can be imported before they are configured.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typed_dcrf.actions import (
        Action,
        AsyncAction,
        SyncAction,
        action,
    )
    from typed_dcrf.auth import TokenAuthMiddleware, TokenAuthMiddlewareStack
    from typed_dcrf.consumers import AsyncAPIConsumer
    from typed_dcrf.context import ActionContext
    from typed_dcrf.exceptions import (
        APIError,
        Gone,
        MethodNotAllowed,
        NotAuthenticated,
        NotFound,
        ParseError,
        PermissionDenied,
        ServerError,
        Throttled,
        ValidationError,
    )
    from typed_dcrf.generics import GenericModelConsumer, LookupValue, ManySerializer
    from typed_dcrf.instances import ObserveInstanceMixin
    from typed_dcrf.lists import ListSubscribed, ObserveListMixin
    from typed_dcrf.mixins import (
        CreateModelMixin,
        DeleteModelMixin,
        ListModelMixin,
        ModelConsumer,
        PaginatedListModelMixin,
        PaginatedModelConsumer,
        PatchModelMixin,
        ReadOnlyModelConsumer,
        RetrieveModelMixin,
        UpdateModelMixin,
    )
    from typed_dcrf.multiplex import Demultiplexer
    from typed_dcrf.observers import ModelObserver, notify
    from typed_dcrf.observing import GroupKey, observe, observe_signal
    from typed_dcrf.pagination import (
        LimitOffsetPagination,
        NumberedPage,
        Page,
        PageNumberPagination,
        Pagination,
    )
    from typed_dcrf.permissions import AllowAny, BasePermission, IsAuthenticated
    from typed_dcrf.responses import Response, SuccessStatus
    from typed_dcrf.streaming import StreamedListModelMixin, StreamEnd
    from typed_dcrf.tasks import detached
    from typed_dcrf.throttling import ConnectionRateThrottle, ScopedConnectionRateThrottle
    from typed_dcrf.views import ViewConsumer, view_as_consumer

_EXPORTS: dict[str, str] = {
    "APIError": "typed_dcrf.exceptions",
    "Action": "typed_dcrf.actions",
    "ActionContext": "typed_dcrf.context",
    "AllowAny": "typed_dcrf.permissions",
    "AsyncAPIConsumer": "typed_dcrf.consumers",
    "AsyncAction": "typed_dcrf.actions",
    "BasePermission": "typed_dcrf.permissions",
    "CreateModelMixin": "typed_dcrf.mixins",
    "DeleteModelMixin": "typed_dcrf.mixins",
    "Demultiplexer": "typed_dcrf.multiplex",
    "GenericModelConsumer": "typed_dcrf.generics",
    "GroupKey": "typed_dcrf.observing",
    "IsAuthenticated": "typed_dcrf.permissions",
    "LimitOffsetPagination": "typed_dcrf.pagination",
    "ListSubscribed": "typed_dcrf.lists",
    "ListModelMixin": "typed_dcrf.mixins",
    "LookupValue": "typed_dcrf.generics",
    "ManySerializer": "typed_dcrf.generics",
    "ConnectionRateThrottle": "typed_dcrf.throttling",
    "ScopedConnectionRateThrottle": "typed_dcrf.throttling",
    "MethodNotAllowed": "typed_dcrf.exceptions",
    "Gone": "typed_dcrf.exceptions",
    "ModelObserver": "typed_dcrf.observers",
    "ModelConsumer": "typed_dcrf.mixins",
    "NotAuthenticated": "typed_dcrf.exceptions",
    "NotFound": "typed_dcrf.exceptions",
    "NumberedPage": "typed_dcrf.pagination",
    "ObserveInstanceMixin": "typed_dcrf.instances",
    "ObserveListMixin": "typed_dcrf.lists",
    "Page": "typed_dcrf.pagination",
    "PageNumberPagination": "typed_dcrf.pagination",
    "PaginatedListModelMixin": "typed_dcrf.mixins",
    "PaginatedModelConsumer": "typed_dcrf.mixins",
    "Pagination": "typed_dcrf.pagination",
    "ParseError": "typed_dcrf.exceptions",
    "PatchModelMixin": "typed_dcrf.mixins",
    "PermissionDenied": "typed_dcrf.exceptions",
    "ReadOnlyModelConsumer": "typed_dcrf.mixins",
    "Response": "typed_dcrf.responses",
    "RetrieveModelMixin": "typed_dcrf.mixins",
    "ServerError": "typed_dcrf.exceptions",
    "StreamEnd": "typed_dcrf.streaming",
    "SuccessStatus": "typed_dcrf.responses",
    "StreamedListModelMixin": "typed_dcrf.streaming",
    "SyncAction": "typed_dcrf.actions",
    "Throttled": "typed_dcrf.exceptions",
    "TokenAuthMiddleware": "typed_dcrf.auth",
    "TokenAuthMiddlewareStack": "typed_dcrf.auth",
    "UpdateModelMixin": "typed_dcrf.mixins",
    "ValidationError": "typed_dcrf.exceptions",
    "ViewConsumer": "typed_dcrf.views",
    "action": "typed_dcrf.actions",
    "detached": "typed_dcrf.tasks",
    "notify": "typed_dcrf.observers",
    "observe": "typed_dcrf.observing",
    "observe_signal": "typed_dcrf.observing",
    "view_as_consumer": "typed_dcrf.views",
}
"""The module of each public name."""

__all__ = [
    "APIError",
    "Action",
    "ActionContext",
    "AllowAny",
    "AsyncAPIConsumer",
    "AsyncAction",
    "BasePermission",
    "ConnectionRateThrottle",
    "CreateModelMixin",
    "DeleteModelMixin",
    "Demultiplexer",
    "GenericModelConsumer",
    "Gone",
    "GroupKey",
    "IsAuthenticated",
    "LimitOffsetPagination",
    "ListModelMixin",
    "ListSubscribed",
    "LookupValue",
    "ManySerializer",
    "MethodNotAllowed",
    "ModelConsumer",
    "ModelObserver",
    "NotAuthenticated",
    "NotFound",
    "NumberedPage",
    "ObserveInstanceMixin",
    "ObserveListMixin",
    "Page",
    "PageNumberPagination",
    "PaginatedListModelMixin",
    "PaginatedModelConsumer",
    "Pagination",
    "ParseError",
    "PatchModelMixin",
    "PermissionDenied",
    "ReadOnlyModelConsumer",
    "Response",
    "RetrieveModelMixin",
    "ScopedConnectionRateThrottle",
    "ServerError",
    "StreamEnd",
    "StreamedListModelMixin",
    "SuccessStatus",
    "SyncAction",
    "Throttled",
    "TokenAuthMiddleware",
    "TokenAuthMiddlewareStack",
    "UpdateModelMixin",
    "ValidationError",
    "ViewConsumer",
    "action",
    "detached",
    "notify",
    "observe",
    "observe_signal",
    "view_as_consumer",
]


def __getattr__(name: str) -> object:
    """The public ``name``, imported from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'typed_dcrf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
