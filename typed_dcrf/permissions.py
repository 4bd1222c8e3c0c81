"""Permissions: checked on connect (``can_connect``) and before every action (``has_permission``).

Object permissions (``has_object_permission``) are checked by ``get_object``.
Methods may be sync or async. typed_dcrf and DRF permission classes combine with ``&``, ``|``
and ``~`` in any order: both build DRF's operand holders, which a consumer compiles once into
a tree of checks. DRF permissions run in the database thread, with a request built from the
scope; on connect they answer ``has_permission`` for a ``HEAD`` request, as in DCRF.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeAlias

from rest_framework import permissions as drf
from rest_framework.permissions import OperandHolder, SingleOperandHolder

from typed_dcrf.context import ActionContext
from typed_dcrf.types import Scope

if TYPE_CHECKING:
    from typed_dcrf.consumers import AsyncAPIConsumer

PermissionSpec: TypeAlias = (
    "type[BasePermission] | type[drf.BasePermission] | OperandHolder | SingleOperandHolder"
)
"""What ``permission_classes`` may hold: classes of either kind, or combinations of them."""


def _combine(operator: type, first: object, second: object) -> OperandHolder:
    # The DRF stubs type operator_class as an instance and the operands as DRF classes only.
    return OperandHolder(operator, first, second)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


class PermissionMeta(drf.BasePermissionMetaclass):
    """Lets typed_dcrf permission classes combine with each other and with DRF's."""

    def __and__(self, other: PermissionSpec) -> OperandHolder:
        return _combine(drf.AND, self, other)

    # type.__or__ builds `X | Y` unions; permission classes combine instead, as in DRF.
    def __or__(self, other: PermissionSpec) -> OperandHolder:  # type: ignore[override]
        return _combine(drf.OR, self, other)

    def __rand__(self, other: PermissionSpec) -> OperandHolder:
        return _combine(drf.AND, other, self)

    def __ror__(self, other: PermissionSpec) -> OperandHolder:  # type: ignore[override]
        return _combine(drf.OR, other, self)


class BasePermission(metaclass=PermissionMeta):
    """Allow everything; override either method, sync or async."""

    message: str | None = None
    """The 403 detail when this permission refuses an action (DRF's default otherwise); it may
    be set on the instance while checking, since every check has its own instance."""

    def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool | Awaitable[bool]:
        """Whether the websocket handshake is accepted."""
        return True

    def has_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer
    ) -> bool | Awaitable[bool]:
        """Whether the action in ``context`` (validated arguments included) may run."""
        return True

    # obj is the model instance of a generic consumer, whose type each consumer knows; Any lets
    # an override annotate it (`obj: Item`) without breaking the override rules.
    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Any
    ) -> bool | Awaitable[bool]:
        """Whether the action in ``context`` may touch ``obj`` (checked by ``get_object``)."""
        return True


class AllowAny(BasePermission):
    """Every connection and every action."""


class IsAuthenticated(BasePermission):
    """Authenticated users only: anonymous connections are refused at the handshake."""

    def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return bool(consumer.user.is_authenticated)

    def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        return bool(context.user.is_authenticated)
