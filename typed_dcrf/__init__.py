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
from typed_dcrf.generics import GenericModelConsumer, LookupValue
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
from typed_dcrf.pagination import (
    LimitOffsetPagination,
    NumberedPage,
    Page,
    PageNumberPagination,
    Pagination,
)
from typed_dcrf.permissions import AllowAny, BasePermission, IsAuthenticated
from typed_dcrf.responses import Response
from typed_dcrf.streaming import StreamedListModelMixin, StreamEnd
from typed_dcrf.tasks import detached

__all__ = [
    "APIError",
    "Action",
    "ActionContext",
    "AllowAny",
    "AsyncAPIConsumer",
    "AsyncAction",
    "BasePermission",
    "CreateModelMixin",
    "DeleteModelMixin",
    "GenericModelConsumer",
    "IsAuthenticated",
    "LimitOffsetPagination",
    "ListModelMixin",
    "LookupValue",
    "MethodNotAllowed",
    "ModelConsumer",
    "NotAuthenticated",
    "NotFound",
    "NumberedPage",
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
    "ServerError",
    "StreamEnd",
    "StreamedListModelMixin",
    "SyncAction",
    "Throttled",
    "UpdateModelMixin",
    "ValidationError",
    "action",
    "detached",
]
