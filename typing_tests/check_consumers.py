"""`AsyncAPIConsumer`: `context` and `user` types, and permission combinations it accepts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import assert_type

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from rest_framework.permissions import IsAdminUser as DRFIsAdminUser
from rest_framework.permissions import OperandHolder, SingleOperandHolder

from typed_dcrf import (
    ActionContext,
    AllowAny,
    AsyncAPIConsumer,
    BasePermission,
    IsAuthenticated,
    Response,
    action,
)
from typed_dcrf.permissions import PermissionSpec
from typed_dcrf.types import JSONValue, Scope


class OwnerOnly(BasePermission):
    """A custom permission may answer sync or async."""

    message = "Owners only."

    def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return bool(consumer.user.is_authenticated)

    async def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        return context.arguments.get("owner") == consumer.user.pk


class Account(AsyncAPIConsumer):
    permission_classes = (
        IsAuthenticated & DRFIsAdminUser,
        DRFIsAdminUser | IsAuthenticated,
        ~IsAuthenticated,
        DRFIsAdminUser & IsAuthenticated,
        IsAuthenticated | AllowAny,
        ~DRFIsAdminUser,
        ~(IsAuthenticated & DRFIsAdminUser) | AllowAny,
        OwnerOnly & DRFIsAdminUser,
        IsAuthenticated,
        DRFIsAdminUser,
        OwnerOnly,
    )

    @action
    async def whoami(self) -> Response[str]:
        assert_type(self.context, ActionContext)
        assert_type(self.context.action, str)
        assert_type(self.context.request_id, JSONValue)
        assert_type(self.context.scope, Scope)
        assert_type(self.context.user, AbstractBaseUser | AnonymousUser)
        assert_type(self.context.arguments, Mapping[str, object])
        assert_type(self.user, AbstractBaseUser | AnonymousUser)
        return Response.ok(self.user.get_username())

    @action
    def whoami_sync(self) -> Response[bool]:
        assert_type(self.context, ActionContext)
        assert_type(self.user, AbstractBaseUser | AnonymousUser)
        return Response.ok(self.user.is_authenticated)


class ListedPermissions(AsyncAPIConsumer):
    permission_classes = [IsAuthenticated, DRFIsAdminUser | AllowAny, ~OwnerOnly]


assert_type(IsAuthenticated & DRFIsAdminUser, OperandHolder)
assert_type(DRFIsAdminUser | IsAuthenticated, OperandHolder)
assert_type(IsAuthenticated | DRFIsAdminUser, OperandHolder)
assert_type(OwnerOnly | IsAuthenticated, OperandHolder)
assert_type(IsAuthenticated | AllowAny, OperandHolder)
assert_type(~IsAuthenticated, SingleOperandHolder)
declared: Sequence[PermissionSpec] = Account.permission_classes
combined: PermissionSpec = ~(OwnerOnly | DRFIsAdminUser)
