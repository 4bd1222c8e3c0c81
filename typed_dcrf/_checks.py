"""Compiled permission checks: ``permission_classes`` as one tree, and its two evaluators.

The tree is plain data, built once per consumer class. A ``Mode`` is the question asked of each
permission (may this connect, run this action, touch this object); ``evaluate`` answers it on
the event loop, ``evaluate_sync`` in the database thread. A new kind of check is a new ``Mode``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, TypeAlias

from asgiref.sync import async_to_sync
from rest_framework import permissions as drf
from rest_framework.permissions import OperandHolder, SingleOperandHolder
from rest_framework.request import Request

from typed_dcrf import db
from typed_dcrf._drf import drf_request
from typed_dcrf.context import ActionContext
from typed_dcrf.exceptions import NotAuthenticated, PermissionDenied
from typed_dcrf.permissions import AllowAny, BasePermission

if TYPE_CHECKING:
    from typed_dcrf.consumers import AsyncAPIConsumer


@dataclass(frozen=True, slots=True)
class Native:
    """A typed_dcrf permission class."""

    permission_class: type[BasePermission]


@dataclass(frozen=True, slots=True)
class DRF:
    """A DRF permission class; it takes the consumer where it would take the view, as in DCRF."""

    permission_class: type[drf.BasePermission]


@dataclass(frozen=True, slots=True)
class And:
    first: Node
    second: Node


@dataclass(frozen=True, slots=True)
class Or:
    first: Node
    second: Node


@dataclass(frozen=True, slots=True)
class Not:
    inner: Node


Node: TypeAlias = "Native | DRF | And | Or | Not"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A check's answer, with the refusing permission's message (``None``: the default)."""

    allowed: bool
    message: str | None = None


ALLOWED = Verdict(allowed=True)
REFUSED = Verdict(allowed=False)


class Subject:
    """What a check is about: the consumer, the running action (``None`` on connect), the HTTP
    method DRF permissions see, and the object of an object check."""

    __slots__ = ("_request", "consumer", "context", "method", "obj")

    def __init__(
        self,
        consumer: AsyncAPIConsumer,
        context: ActionContext | None,
        method: str,
        obj: object = None,
    ) -> None:
        self.consumer = consumer
        self.context = context
        self.method = method
        self.obj = obj
        self._request: Request | None = None

    @property
    def request(self) -> Request:
        """The DRF request DRF permissions get, built once per check."""
        if self._request is None:
            self._request = drf_request(self.consumer.scope, self.method)
        return self._request

    @property
    def action(self) -> ActionContext:
        assert self.context is not None, "only connect checks run without an action"
        return self.context


NativeQuestion: TypeAlias = Callable[[BasePermission, Subject], "bool | Awaitable[bool]"]
DRFQuestion: TypeAlias = Callable[[drf.BasePermission, Subject], bool]


@dataclass(frozen=True, slots=True)
class Mode:
    """One question asked of every permission of a tree."""

    native: NativeQuestion
    drf: DRFQuestion
    negatable: bool = True
    """Whether ``~P`` refuses what ``P`` allows (on connect it never refuses)."""
    branch_also: Mode | None = None
    """A question an ``|`` branch must answer yes to as well (DRF's rule for objects)."""


def _connect(permission: BasePermission, subject: Subject) -> bool | Awaitable[bool]:
    return permission.can_connect(subject.consumer.scope, subject.consumer)


def _action(permission: BasePermission, subject: Subject) -> bool | Awaitable[bool]:
    return permission.has_permission(subject.action, subject.consumer)


def _object(permission: BasePermission, subject: Subject) -> bool | Awaitable[bool]:
    return permission.has_object_permission(subject.action, subject.consumer, subject.obj)


# DRF permissions take the consumer where they would take the view, as in DCRF (the stubs want
# an APIView).
def _drf_action(permission: drf.BasePermission, subject: Subject) -> bool:
    return permission.has_permission(subject.request, subject.consumer)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def _drf_object(permission: drf.BasePermission, subject: Subject) -> bool:
    consumer, obj = subject.consumer, subject.obj
    return permission.has_object_permission(subject.request, consumer, obj)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


CONNECT = Mode(native=_connect, drf=_drf_action, negatable=False)
"""May this connection open? DRF permissions answer ``has_permission`` for a ``HEAD``."""
ACTION = Mode(native=_action, drf=_drf_action)
"""May the running action run?"""
OBJECT = Mode(native=_object, drf=_drf_object, branch_also=ACTION)
"""May the running action touch ``subject.obj``?"""


def _verdict(allowed: bool, permission: object) -> Verdict:
    if allowed:
        return ALLOWED
    message = getattr(permission, "message", None)
    return Verdict(allowed=False, message=None if message is None else str(message))


async def _resolve(answer: bool | Awaitable[bool]) -> bool:
    return bool(await answer) if inspect.isawaitable(answer) else bool(answer)


def _resolve_sync(answer: bool | Awaitable[bool]) -> bool:
    """``_resolve`` in the database thread: an async check runs on the event loop."""
    if inspect.isawaitable(answer):
        return async_to_sync(_resolve)(answer)
    return bool(answer)


async def evaluate(node: Node, mode: Mode, subject: Subject, *, in_memory: bool = False) -> Verdict:
    """``mode``'s answer for ``node``, on the event loop. DRF permissions run in the database
    thread, unless ``in_memory`` says the subject needs no database (then one that queries it
    raises ``SynchronousOnlyOperation``)."""
    if isinstance(node, Native):
        permission = node.permission_class()
        return _verdict(await _resolve(mode.native(permission, subject)), permission)
    if isinstance(node, DRF):
        if in_memory:
            return evaluate_sync(node, mode, subject)
        return await db.run(evaluate_sync, node, mode, subject)
    if isinstance(node, And):
        verdict = await evaluate(node.first, mode, subject, in_memory=in_memory)
        if not verdict.allowed:
            return verdict
        return await evaluate(node.second, mode, subject, in_memory=in_memory)
    if isinstance(node, Or):
        verdict = await _evaluate_branch(node.first, mode, subject, in_memory)
        if verdict.allowed:
            return verdict
        return await _evaluate_branch(node.second, mode, subject, in_memory)
    if not mode.negatable:
        return ALLOWED
    inner = await evaluate(node.inner, mode, subject, in_memory=in_memory)
    return REFUSED if inner.allowed else ALLOWED


async def _evaluate_branch(node: Node, mode: Mode, subject: Subject, in_memory: bool) -> Verdict:
    if mode.branch_also is not None:
        verdict = await evaluate(node, mode.branch_also, subject, in_memory=in_memory)
        if not verdict.allowed:
            return verdict
    return await evaluate(node, mode, subject, in_memory=in_memory)


def evaluate_sync(node: Node, mode: Mode, subject: Subject) -> Verdict:
    """``evaluate`` in the database thread, where sync actions and ``get_object`` run."""
    if isinstance(node, Native):
        permission = node.permission_class()
        return _verdict(_resolve_sync(mode.native(permission, subject)), permission)
    if isinstance(node, DRF):
        drf_permission = node.permission_class()
        return _verdict(mode.drf(drf_permission, subject), drf_permission)
    if isinstance(node, And):
        verdict = evaluate_sync(node.first, mode, subject)
        return evaluate_sync(node.second, mode, subject) if verdict.allowed else verdict
    if isinstance(node, Or):
        verdict = _evaluate_branch_sync(node.first, mode, subject)
        return verdict if verdict.allowed else _evaluate_branch_sync(node.second, mode, subject)
    if not mode.negatable:
        return ALLOWED
    return REFUSED if evaluate_sync(node.inner, mode, subject).allowed else ALLOWED


def _evaluate_branch_sync(node: Node, mode: Mode, subject: Subject) -> Verdict:
    if mode.branch_also is not None:
        verdict = evaluate_sync(node, mode.branch_also, subject)
        if not verdict.allowed:
            return verdict
    return evaluate_sync(node, mode, subject)


_OPERATORS: dict[object, type[And | Or]] = {drf.AND: And, drf.OR: Or}


def compile_permission(spec: object) -> Node:
    """Turn one entry of ``permission_classes`` (a ``PermissionSpec``) into a tree."""
    if isinstance(spec, OperandHolder):
        combine = _OPERATORS[spec.operator_class]
        return combine(compile_permission(spec.op1_class), compile_permission(spec.op2_class))
    if isinstance(spec, SingleOperandHolder):
        return Not(compile_permission(spec.op1_class))
    if isinstance(spec, type) and issubclass(spec, BasePermission):
        return Native(spec)
    if isinstance(spec, type) and issubclass(spec, drf.BasePermission):
        return DRF(spec)
    msg = f"{spec!r} is not a typed_dcrf or DRF permission class."
    raise TypeError(msg)


def compile_permissions(specs: Sequence[object]) -> Node | None:
    """``permission_classes`` as one tree that allows when every entry does (``None``: no
    check at all, as for a plain ``AllowAny``)."""
    nodes = [
        node
        for node in map(compile_permission, specs)
        if not (isinstance(node, Native) and node.permission_class is AllowAny)
    ]
    return reduce(And, nodes) if nodes else None


def raise_if_refused(verdict: Verdict, subject: Subject) -> None:
    """``NotAuthenticated`` (anonymous user) or ``PermissionDenied`` for a refusal."""
    if verdict.allowed:
        return
    if not subject.action.user.is_authenticated:
        raise NotAuthenticated
    raise PermissionDenied(verdict.message)
