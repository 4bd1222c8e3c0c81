"""Permissions: checked on connect (``can_connect``) and before every action (``has_permission``).

Object permissions (``has_object_permission``) are checked by ``get_object``.
Methods may be sync or async. typed_dcrf and DRF permission classes combine with ``&``, ``|``
and ``~`` in any order: both build DRF's operand holders, which a consumer compiles once into
a tree of checks. DRF permissions run in the database thread, with a request built from the
scope; they have no say on connect.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from asgiref.sync import async_to_sync
from rest_framework import permissions as drf
from rest_framework.permissions import OperandHolder, SingleOperandHolder

from typed_dcrf import db
from typed_dcrf._drf import drf_request
from typed_dcrf.context import ActionContext
from typed_dcrf.exceptions import NotAuthenticated, PermissionDenied
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


async def _resolve(answer: bool | Awaitable[bool]) -> bool:
    return bool(await answer) if inspect.isawaitable(answer) else bool(answer)


def _resolve_sync(answer: bool | Awaitable[bool]) -> bool:
    """``_resolve`` in the database thread: an async check runs on the event loop."""
    if inspect.isawaitable(answer):
        return async_to_sync(_resolve)(answer)
    return bool(answer)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A check's answer, with the refusing permission's message (``None``: the default)."""

    allowed: bool
    message: str | None = None


ALLOWED = Verdict(allowed=True)


class Check:
    """A compiled permission: one node of the tree built from ``permission_classes``.

    Permission classes are instantiated for every check, as DRF does for every request, so
    that state a permission keeps (such as a ``message`` set while checking) stays with it.
    ``allows`` runs on the event loop; ``allows_sync`` and ``allows_object`` in the database
    thread, where sync actions and ``get_object`` run.
    """

    async def connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        raise NotImplementedError

    async def allows(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        raise NotImplementedError

    def allows_sync(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        raise NotImplementedError

    def allows_object(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: object
    ) -> Verdict:
        raise NotImplementedError


def _verdict(allowed: bool, permission: object) -> Verdict:
    if allowed:
        return ALLOWED
    message = getattr(permission, "message", None)
    return Verdict(allowed=False, message=None if message is None else str(message))


@dataclass(frozen=True, slots=True)
class _Native(Check):
    permission_class: type[BasePermission]

    async def connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return await _resolve(self.permission_class().can_connect(scope, consumer))

    async def allows(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        permission = self.permission_class()
        return _verdict(await _resolve(permission.has_permission(context, consumer)), permission)

    def allows_sync(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        permission = self.permission_class()
        return _verdict(_resolve_sync(permission.has_permission(context, consumer)), permission)

    def allows_object(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: object
    ) -> Verdict:
        permission = self.permission_class()
        answer = permission.has_object_permission(context, consumer, obj)
        return _verdict(_resolve_sync(answer), permission)


@dataclass(frozen=True, slots=True)
class _DRF(Check):
    """A DRF permission class; it takes the consumer where it would take the view, as in DCRF."""

    permission_class: type[drf.BasePermission]

    async def connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return True

    async def allows(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        return await db.run(self.allows_sync, context, consumer)

    def allows_sync(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        permission = self.permission_class()
        request = drf_request(context.scope, context.action)
        allowed = permission.has_permission(request, consumer)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        return _verdict(allowed, permission)

    def allows_object(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: object
    ) -> Verdict:
        permission = self.permission_class()
        request = drf_request(context.scope, context.action)
        allowed = permission.has_object_permission(request, consumer, obj)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        return _verdict(allowed, permission)


@dataclass(frozen=True, slots=True)
class _And(Check):
    first: Check
    second: Check

    async def connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return await self.first.connect(scope, consumer) and await self.second.connect(
            scope, consumer
        )

    async def allows(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        verdict = await self.first.allows(context, consumer)
        return await self.second.allows(context, consumer) if verdict.allowed else verdict

    def allows_sync(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        verdict = self.first.allows_sync(context, consumer)
        return self.second.allows_sync(context, consumer) if verdict.allowed else verdict

    def allows_object(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: object
    ) -> Verdict:
        verdict = self.first.allows_object(context, consumer, obj)
        return self.second.allows_object(context, consumer, obj) if verdict.allowed else verdict


@dataclass(frozen=True, slots=True)
class _Or(Check):
    first: Check
    second: Check

    async def connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return await self.first.connect(scope, consumer) or await self.second.connect(
            scope, consumer
        )

    async def allows(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        verdict = await self.first.allows(context, consumer)
        return verdict if verdict.allowed else await self.second.allows(context, consumer)

    def allows_sync(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        verdict = self.first.allows_sync(context, consumer)
        return verdict if verdict.allowed else self.second.allows_sync(context, consumer)

    def allows_object(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: object
    ) -> Verdict:
        verdict = _branch_allows_object(self.first, context, consumer, obj)
        return (
            verdict
            if verdict.allowed
            else _branch_allows_object(self.second, context, consumer, obj)
        )


def _branch_allows_object(
    branch: Check, context: ActionContext, consumer: AsyncAPIConsumer, obj: object
) -> Verdict:
    """As DRF's OR: a branch allows the object only if it also allows the action."""
    verdict = branch.allows_sync(context, consumer)
    return branch.allows_object(context, consumer, obj) if verdict.allowed else verdict


@dataclass(frozen=True, slots=True)
class _Not(Check):
    """Negates the per-action check only: refusing every connection would make no sense."""

    inner: Check

    async def connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return True

    async def allows(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        verdict = await self.inner.allows(context, consumer)
        return Verdict(allowed=not verdict.allowed)

    def allows_sync(self, context: ActionContext, consumer: AsyncAPIConsumer) -> Verdict:
        return Verdict(allowed=not self.inner.allows_sync(context, consumer).allowed)

    def allows_object(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: object
    ) -> Verdict:
        return Verdict(allowed=not self.inner.allows_object(context, consumer, obj).allowed)


_OPERATORS: dict[object, type[_And | _Or]] = {drf.AND: _And, drf.OR: _Or}


def compile_permission(spec: object) -> Check:
    """Turn one entry of ``permission_classes`` (a ``PermissionSpec``) into a check tree."""
    if isinstance(spec, OperandHolder):
        combine = _OPERATORS[spec.operator_class]
        return combine(compile_permission(spec.op1_class), compile_permission(spec.op2_class))
    if isinstance(spec, SingleOperandHolder):
        return _Not(compile_permission(spec.op1_class))
    if isinstance(spec, type) and issubclass(spec, BasePermission):
        return _Native(spec)
    if isinstance(spec, type) and issubclass(spec, drf.BasePermission):
        return _DRF(spec)
    msg = f"{spec!r} is not a typed_dcrf or DRF permission class."
    raise TypeError(msg)


def compile_permissions(specs: Sequence[object]) -> tuple[Check, ...]:
    """Compile ``permission_classes``; a plain ``AllowAny`` entry needs no check at all."""
    checks = (compile_permission(spec) for spec in specs)
    return tuple(
        check
        for check in checks
        if not (isinstance(check, _Native) and check.permission_class is AllowAny)
    )


async def can_connect(checks: Sequence[Check], scope: Scope, consumer: AsyncAPIConsumer) -> bool:
    """Whether every permission accepts the connection."""
    for check in checks:
        if not await check.connect(scope, consumer):
            return False
    return True


async def check_action(
    checks: Sequence[Check], context: ActionContext, consumer: AsyncAPIConsumer
) -> None:
    """Raise ``NotAuthenticated`` (anonymous user) or ``PermissionDenied`` on the first refusal."""
    for check in checks:
        _raise_if_refused(await check.allows(context, consumer), context)


def check_action_sync(
    checks: Sequence[Check], context: ActionContext, consumer: AsyncAPIConsumer
) -> None:
    """``check_action`` in the database thread (sync actions run their checks there)."""
    for check in checks:
        _raise_if_refused(check.allows_sync(context, consumer), context)


def check_object(
    checks: Sequence[Check], context: ActionContext, consumer: AsyncAPIConsumer, obj: object
) -> None:
    """Raise as ``check_action`` does when a permission refuses access to ``obj``."""
    for check in checks:
        _raise_if_refused(check.allows_object(context, consumer, obj), context)


def _raise_if_refused(verdict: Verdict, context: ActionContext) -> None:
    if verdict.allowed:
        return
    if not context.user.is_authenticated:
        raise NotAuthenticated
    raise PermissionDenied(verdict.message)
