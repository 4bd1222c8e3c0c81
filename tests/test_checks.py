"""The compiled permission tree: both evaluators answer every mode exactly as DRF's own AND, OR
and NOT answer, for DRF and typed_dcrf operands alike (and ~ never refuses a connection)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from typing import Any, cast

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from rest_framework import permissions as drf
from rest_framework.permissions import OperandHolder, SingleOperandHolder
from rest_framework.request import Request
from rest_framework.views import APIView

from typed_dcrf import ActionContext, AsyncAPIConsumer, BasePermission
from typed_dcrf._checks import (
    ACTION,
    CONNECT,
    OBJECT,
    Mode,
    Subject,
    compile_permission,
    evaluate,
    evaluate_sync,
)
from typed_dcrf.permissions import PermissionSpec

# DRF leaves run through typed_dcrf.db, whose trips to the database thread housekeep its
# connections: allowed, though no query runs.
pytestmark = pytest.mark.django_db

LEAF_ANSWERS: dict[object, tuple[bool, bool]] = {}
"""(has_permission, has_object_permission) of each leaf class."""


def drf_leaf(allows: bool, allows_object: bool) -> type[drf.BasePermission]:
    class Leaf(drf.BasePermission):
        def has_permission(self, request: Request, view: APIView) -> bool:
            return allows

        def has_object_permission(self, request: Request, view: APIView, obj: object) -> bool:
            return allows_object

    LEAF_ANSWERS[Leaf] = (allows, allows_object)
    return Leaf


def native_leaf(allows: bool, allows_object: bool) -> type[BasePermission]:
    """The typed_dcrf twin of ``drf_leaf``, answering async (the evaluators resolve both)."""

    class Leaf(BasePermission):
        async def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
            return allows

        def has_object_permission(
            self, context: ActionContext, consumer: AsyncAPIConsumer, obj: object
        ) -> bool | Awaitable[bool]:
            return allows_object

        def can_connect(self, scope: object, consumer: AsyncAPIConsumer) -> bool:
            return allows

    LEAF_ANSWERS[Leaf] = (allows, allows_object)
    return Leaf


ANSWERS = list(itertools.product([True, False], repeat=2))
DRF_LEAVES: list[PermissionSpec] = [drf_leaf(*answers) for answers in ANSWERS]
NATIVE_LEAVES: list[PermissionSpec] = [native_leaf(*answers) for answers in ANSWERS]


def formulas(leaves: list[PermissionSpec]) -> list[PermissionSpec]:
    """Every leaf, its negation and every pair under & and |, then those combined once more
    with a leaf, and negated."""
    first: list[PermissionSpec] = [*leaves, *(~leaf for leaf in leaves)]
    first += [a & b for a, b in itertools.product(leaves, repeat=2)]
    first += [a | b for a, b in itertools.product(leaves, repeat=2)]
    second: list[PermissionSpec] = [~f for f in first]
    second += [f & leaf for f, leaf in itertools.product(first, leaves)]
    second += [leaf | f for f, leaf in itertools.product(first, leaves)]
    return first + second


def drf_answers(spec: PermissionSpec) -> tuple[bool, bool]:
    """What DRF's own operators answer for a formula of DRF leaves: (action, object)."""
    # A formula of DRF leaves makes a DRF permission (or DRF's AND, OR, NOT of them).
    permission = cast("drf.BasePermission", cast("Any", spec)())
    # pyright resolves Request() through a stubbed __new__ with no parameters; it is valid.
    request, view = Request(HttpRequest()), APIView()  # pyright: ignore[reportCallIssue]
    return (
        bool(permission.has_permission(request, view)),
        bool(permission.has_object_permission(request, view, None)),
    )


def connect_answer(spec: object) -> bool:
    """The connect rule: & and | as usual, ~ never refuses, a leaf says its has_permission."""
    if isinstance(spec, OperandHolder):
        first, second = connect_answer(spec.op1_class), connect_answer(spec.op2_class)
        is_and = cast("object", spec.operator_class) is drf.AND  # the stubs type it otherwise
        return first and second if is_and else first or second
    if isinstance(spec, SingleOperandHolder):
        return True
    return LEAF_ANSWERS[spec][0]


class Plain(AsyncAPIConsumer):
    """A consumer for subjects only: never connected."""


def subject(mode: Mode) -> Subject:
    consumer = Plain()
    consumer.scope = cast("Any", {"type": "websocket", "path": "/ws/"})  # a minimal scope
    if mode is CONNECT:
        return Subject(consumer, None, "HEAD")
    context = ActionContext("rename", None, consumer.scope, AnonymousUser(), {})
    return Subject(consumer, context, "RENAME", obj=object())


CASES = [
    pytest.param(drf_formula, native_formula, id=str(index))
    for index, (drf_formula, native_formula) in enumerate(
        zip(formulas(DRF_LEAVES), formulas(NATIVE_LEAVES), strict=True)
    )
]


@pytest.mark.parametrize(("drf_formula", "native_formula"), CASES)
async def test_both_evaluators_answer_as_drf(
    drf_formula: PermissionSpec, native_formula: PermissionSpec
) -> None:
    """For the DRF formula and its typed_dcrf twin, the sync and the async evaluator give DRF's
    answers for actions and objects, and the connect rule for handshakes."""
    expected = {ACTION: drf_answers(drf_formula)[0], OBJECT: drf_answers(drf_formula)[1]}
    expected[CONNECT] = connect_answer(drf_formula)
    for formula in (drf_formula, native_formula):
        tree = compile_permission(formula)
        for mode, allowed in expected.items():
            # The sync evaluator runs off the event loop, as in the database thread.
            verdict = await asyncio.to_thread(evaluate_sync, tree, mode, subject(mode))
            assert verdict.allowed is allowed
            assert (await evaluate(tree, mode, subject(mode))).allowed is allowed
