"""typed_dcrf: typed, async-first websocket APIs for Django Channels, DCRF-compatible."""

from typed_dcrf.actions import Action, AsyncAction, SyncAction, action
from typed_dcrf.consumers import AsyncAPIConsumer
from typed_dcrf.context import ActionContext
from typed_dcrf.exceptions import (
    APIError,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    ParseError,
    PermissionDenied,
    ServerError,
    Throttled,
    ValidationError,
)
from typed_dcrf.permissions import AllowAny, BasePermission, IsAuthenticated
from typed_dcrf.responses import Response

__all__ = [
    "APIError",
    "Action",
    "ActionContext",
    "AllowAny",
    "AsyncAPIConsumer",
    "AsyncAction",
    "BasePermission",
    "IsAuthenticated",
    "MethodNotAllowed",
    "NotAuthenticated",
    "NotFound",
    "ParseError",
    "PermissionDenied",
    "Response",
    "ServerError",
    "SyncAction",
    "Throttled",
    "ValidationError",
    "action",
]
