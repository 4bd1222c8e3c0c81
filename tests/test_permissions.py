"""typed_dcrf.permissions: connect and per-action checks, DRF classes and their combinations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import cast

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ImproperlyConfigured
from rest_framework import permissions as drf
from rest_framework.request import Request
from rest_framework.views import APIView

from tests.frames import ask, error_reply
from typed_dcrf import (
    ActionContext,
    AllowAny,
    AsyncAPIConsumer,
    BasePermission,
    IsAuthenticated,
    Response,
    action,
    db,
)
from typed_dcrf.consumers import REFUSED
from typed_dcrf.permissions import PermissionSpec
from typed_dcrf.testing import ApiClient, ConnectionRefused
from typed_dcrf.types import Scope

NOT_AUTHENTICATED = ["Authentication credentials were not provided."]
DENIED = ["You do not have permission to perform this action."]

RAN: list[str] = []
"""Wire names of the actions that ran: the side effect a refused action must not have."""

SEEN: list[tuple[str, object]] = []
"""(action, ``pk`` argument) pairs as the recording permissions saw them."""

DRF_REQUESTS: list[Request] = []
"""The requests ``RecordRequest`` was given."""


@pytest.fixture(autouse=True)
def _clear_records() -> Iterator[None]:
    yield
    RAN.clear()
    SEEN.clear()
    DRF_REQUESTS.clear()


@pytest.fixture
def bob(transactional_db: None) -> User:
    """An authenticated user who is not staff."""
    return User.objects.create_user("bob")


@pytest.fixture
def carol(transactional_db: None) -> User:
    """A staff user."""
    return User.objects.create_user("carol", is_staff=True)


class Notes(AsyncAPIConsumer):
    """Actions whose only effect is recording that they ran; subclasses set permissions."""

    @action(method="GET")
    async def retrieve(self, pk: int) -> Response[int]:
        RAN.append("retrieve")
        return Response.ok(pk)

    @action(name="list", method="GET")
    async def list_all(self) -> Response[list[int]]:
        RAN.append("list")
        return Response.ok([1, 2])

    @action()
    async def rename(self, pk: int, text: str = "") -> Response[int]:
        RAN.append("rename")
        return Response.ok(pk)

    @action()
    def archive(self, pk: int) -> Response[int]:
        RAN.append("archive")
        return Response.ok(pk)


def guarded(*specs: PermissionSpec) -> type[AsyncAPIConsumer]:
    """A ``Notes`` consumer with ``permission_classes = specs``."""

    class Guarded(Notes):
        permission_classes = specs

    return Guarded


class Allow(BasePermission):
    """Sync, allows everything."""

    def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        return True


class Deny(BasePermission):
    """Sync, refuses every action (with the default message)."""

    def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        return False


class AsyncAllow(BasePermission):
    """Async, allows everything."""

    async def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        return True


class AsyncDeny(BasePermission):
    """Async, refuses every action."""

    async def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        return False


class SmallPk(BasePermission):
    """Sync: only a ``pk`` below 10."""

    message = "pk must be below 10."

    def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        pk = context.arguments.get("pk")
        SEEN.append((context.action, pk))
        return isinstance(pk, int) and pk < 10


class AsyncSmallPk(BasePermission):
    """Async: only a ``pk`` below 10."""

    message = "pk must be below 10 (async)."

    async def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        pk = context.arguments.get("pk")
        SEEN.append((context.action, pk))
        return isinstance(pk, int) and pk < 10


class TokenInScope(BasePermission):
    """Sync connect check: the scope must carry the right token."""

    def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return bool(scope.get("token") == "open sesame")


class AsyncTokenInScope(BasePermission):
    """Async connect check: the scope must carry the right token."""

    async def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return bool(scope.get("token") == "open sesame")


class RefuseConnect(BasePermission):
    """Refuses every handshake, allows every action."""

    def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return False


class AsyncRefuseConnect(BasePermission):
    """Refuses every handshake (async), allows every action."""

    async def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        return False


class RecordRequest(drf.BasePermission):
    """A DRF permission that records the request it is given and allows it."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        DRF_REQUESTS.append(request)
        return True


class Open(Notes):
    """No permission_classes of its own."""


class Members(Notes):
    permission_classes = (IsAuthenticated,)


async def test_allow_any_is_the_default() -> None:
    """A consumer without permission_classes accepts anonymous connections and actions."""
    assert Open.permission_classes == (AllowAny,)
    async with ApiClient(Open) as client:
        reply = await client.call(Open.rename, pk=42)
    assert reply.data == 42
    assert RAN == ["rename"]


async def test_is_authenticated_refuses_an_anonymous_handshake() -> None:
    """IsAuthenticated closes an anonymous handshake with the refusal close code."""
    with pytest.raises(ConnectionRefused) as refused:
        async with ApiClient(Members):
            pass
    assert refused.value.code == REFUSED


async def test_is_authenticated_accepts_an_authenticated_user(bob: User) -> None:
    """IsAuthenticated accepts a user from the database, and lets its actions run."""
    async with ApiClient(Members, user=bob) as client:
        reply = await client.call(Members.rename, pk=3)
    assert reply.data == 3
    assert RAN == ["rename"]


@pytest.mark.parametrize("permission", [SmallPk, AsyncSmallPk])
async def test_has_permission_sees_validated_arguments_and_action_name(
    permission: type[BasePermission],
) -> None:
    """has_permission (sync or async) gets the action name and the arguments after validation."""
    async with ApiClient(guarded(permission)) as client:
        reply = await ask(client, "rename", pk="7")
        assert reply["response_status"] == 200
        reply = await ask(client, "archive", pk=8)
        assert reply["response_status"] == 200
    # "7" reached the permission as the int 7: it sees what the action will get.
    assert SEEN == [("rename", 7), ("archive", 8)]
    assert RAN == ["rename", "archive"]


async def test_has_permission_is_not_consulted_for_invalid_arguments() -> None:
    """Arguments are validated first: invalid ones give a 400 without asking the permission."""
    async with ApiClient(guarded(SmallPk)) as client:
        reply = await ask(client, "rename", pk="seven")
    assert reply["response_status"] == 400
    assert SEEN == []
    assert RAN == []


@pytest.mark.parametrize("permission", [SmallPk, AsyncSmallPk])
async def test_anonymous_refusal_is_401_and_the_action_does_not_run(
    permission: type[BasePermission],
) -> None:
    """An anonymous user refused by has_permission gets 401; the action does not run."""
    async with ApiClient(guarded(permission)) as client:
        reply = await ask(client, "rename", pk=42)
        assert reply == error_reply(401, NOT_AUTHENTICATED, "rename")
        reply = await ask(client, "archive", pk=42)
        assert reply == error_reply(401, NOT_AUTHENTICATED, "archive")
    assert RAN == []


@pytest.mark.parametrize(
    ("permission", "message"),
    [(SmallPk, "pk must be below 10."), (AsyncSmallPk, "pk must be below 10 (async).")],
)
async def test_authenticated_refusal_is_403_with_the_permission_message(
    permission: type[BasePermission], message: str, bob: User
) -> None:
    """An authenticated user refused by has_permission gets 403 with the permission's message."""
    async with ApiClient(guarded(permission), user=bob) as client:
        reply = await ask(client, "rename", pk=42)
        assert reply == error_reply(403, [message], "rename")
        reply = await ask(client, "archive", pk=42)
        assert reply == error_reply(403, [message], "archive")
    assert RAN == []


async def test_refusal_without_a_message_uses_the_default_detail(bob: User) -> None:
    """A permission without ``message`` refuses with DRF's default 403 detail."""
    async with ApiClient(guarded(Deny), user=bob) as client:
        reply = await ask(client, "rename", pk=1)
    assert reply == error_reply(403, DENIED, "rename")


async def test_connection_stays_open_after_a_refusal(bob: User) -> None:
    """After a refused action the same connection still answers, and allowed actions run."""
    async with ApiClient(guarded(SmallPk), user=bob) as client:
        refused = await ask(client, "rename", pk=42)
        assert refused["response_status"] == 403
        allowed = await client.call(Notes.rename, pk=4)
        assert allowed.data == 4
        refused = await ask(client, "archive", pk=10)
        assert refused["response_status"] == 403
        allowed = await client.call(Notes.archive, pk=9)
        assert allowed.data == 9
    assert RAN == ["rename", "archive"]


@pytest.mark.parametrize("permission", [TokenInScope, AsyncTokenInScope])
async def test_can_connect_accepts_a_matching_scope(permission: type[BasePermission]) -> None:
    """can_connect (sync or async) reads the scope and accepts the handshake when it says so."""
    consumer = guarded(permission)
    async with ApiClient(consumer, scope={"token": "open sesame"}) as client:
        reply = await client.call(Notes.retrieve, pk=1)
    assert reply.data == 1


@pytest.mark.parametrize("permission", [TokenInScope, AsyncTokenInScope])
async def test_can_connect_refuses_the_handshake(permission: type[BasePermission]) -> None:
    """can_connect (sync or async) returning False refuses the handshake."""
    with pytest.raises(ConnectionRefused) as refused:
        async with ApiClient(guarded(permission), scope={"token": "wrong"}):
            pass
    assert refused.value.code == REFUSED


@pytest.mark.parametrize("permission", [drf.IsAuthenticated, drf.IsAdminUser])
async def test_drf_permissions_refuse_the_handshake_as_in_dcrf(
    permission: type[drf.BasePermission], carol: User
) -> None:
    """A DRF permission answers the handshake (has_permission for a HEAD request), so a
    consumer moved from DCRF with DRF's IsAuthenticated still refuses anonymous users."""
    with pytest.raises(ConnectionRefused) as refused:
        async with ApiClient(guarded(permission)):
            pass
    assert refused.value.code == REFUSED
    async with ApiClient(guarded(permission), user=carol) as client:
        allowed = await client.call(Notes.retrieve, pk=1)
    assert allowed.data == 1


class StaffWrites(drf.BasePermission):
    """DRF: anyone reads (and connects, with a HEAD); only staff runs unsafe actions."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in drf.SAFE_METHODS or bool(getattr(request.user, "is_staff", False))


async def test_drf_permission_refuses_non_staff_with_403(bob: User, carol: User) -> None:
    """A DRF permission refusing an authenticated user's action is a 403; staff may run it."""
    consumer = guarded(StaffWrites)
    async with ApiClient(consumer, user=bob) as client:
        reply = await ask(client, "archive", pk=1)
    assert reply == error_reply(403, DENIED, "archive")
    assert RAN == []
    async with ApiClient(consumer, user=carol) as client:
        allowed = await client.call(Notes.archive, pk=1)
    assert allowed.data == 1


async def test_drf_read_only_lets_anonymous_users_list_and_retrieve_only() -> None:
    """IsAuthenticatedOrReadOnly: actions declared method="GET" are reads; any other action
    name is unsafe."""
    async with ApiClient(guarded(drf.IsAuthenticatedOrReadOnly)) as client:
        listed = await client.call(Notes.list_all)
        retrieved = await client.call(Notes.retrieve, pk=5)
        renamed = await ask(client, "rename", pk=5)
        archived = await ask(client, "archive", pk=5)
    assert listed.data == [1, 2]
    assert retrieved.data == 5
    assert renamed == error_reply(401, NOT_AUTHENTICATED, "rename")
    assert archived == error_reply(401, NOT_AUTHENTICATED, "archive")
    assert RAN == ["list", "retrieve"]


async def test_drf_read_only_lets_authenticated_users_run_unsafe_actions(bob: User) -> None:
    """IsAuthenticatedOrReadOnly lets an authenticated user run custom (unsafe) actions."""
    async with ApiClient(guarded(drf.IsAuthenticatedOrReadOnly), user=bob) as client:
        renamed = await client.call(Notes.rename, pk=5)
    assert renamed.data == 5


async def test_drf_permission_gets_the_scope_user_and_the_action_method(bob: User) -> None:
    """A DRF permission's request carries the scope's user and the HTTP method: HEAD for the
    handshake, then the action's (its method=, else its upper-cased name)."""
    async with ApiClient(guarded(RecordRequest), user=bob) as client:
        await client.call(Notes.list_all)
        await client.call(Notes.retrieve, pk=1)
        await client.call(Notes.rename, pk=1)
        await client.call(Notes.archive, pk=1)
    assert [request.user for request in DRF_REQUESTS] == [bob] * 5
    methods = [request.method for request in DRF_REQUESTS]
    assert methods == ["HEAD", "GET", "GET", "RENAME", "ARCHIVE"]


async def test_drf_permission_gets_an_anonymous_user_when_the_scope_has_none() -> None:
    """Without a user in the scope, a DRF permission's request carries an AnonymousUser."""
    async with ApiClient(guarded(RecordRequest)) as client:
        await client.call(Notes.retrieve, pk=1)
    assert len(DRF_REQUESTS) == 2  # the handshake's and the action's
    assert all(isinstance(request.user, AnonymousUser) for request in DRF_REQUESTS)


@pytest.mark.parametrize(
    ("spec", "allowed"),
    [
        pytest.param(Allow & AsyncAllow, True, id="allow&async-allow"),
        pytest.param(Allow & Deny, False, id="allow&deny"),
        pytest.param(AsyncDeny & Allow, False, id="async-deny&allow"),
        pytest.param(Deny | AsyncAllow, True, id="deny|async-allow"),
        pytest.param(AsyncDeny | Deny, False, id="async-deny|deny"),
        pytest.param(~Deny, True, id="~deny"),
        pytest.param(~AsyncAllow, False, id="~async-allow"),
        pytest.param(~AsyncDeny, True, id="~async-deny"),
        pytest.param(drf.IsAdminUser & Allow, None, id="drf-admin&allow"),
        pytest.param(drf.IsAuthenticated & AsyncAllow, True, id="drf-auth&async-allow"),
        pytest.param(Allow & drf.IsAdminUser, None, id="allow&drf-admin"),
        pytest.param(AsyncAllow & drf.IsAuthenticated, True, id="async-allow&drf-auth"),
        pytest.param(Deny | drf.IsAuthenticated, True, id="deny|drf-auth"),
        pytest.param(AsyncDeny | drf.IsAdminUser, False, id="async-deny|drf-admin"),
        pytest.param(drf.IsAdminUser | AsyncAllow, True, id="drf-admin|async-allow"),
        pytest.param(drf.IsAdminUser | Deny, False, id="drf-admin|deny"),
        pytest.param(~drf.IsAdminUser, True, id="~drf-admin"),
        pytest.param(
            (Deny | drf.IsAuthenticated) & ~AsyncDeny, True, id="(deny|drf-auth)&~async-deny"
        ),
        pytest.param(
            ~(Allow & AsyncDeny) & (drf.IsAdminUser | Deny),
            False,
            id="~(allow&async-deny)&(drf-admin|deny)",
        ),
        pytest.param(
            AsyncDeny | ~(drf.IsAdminUser | ~Allow), True, id="async-deny|~(drf-admin|~allow)"
        ),
        pytest.param((SmallPk & AsyncSmallPk) | Deny, True, id="(small-pk&async-small-pk)|deny"),
    ],
)
async def test_combined_permissions_follow_boolean_logic(
    spec: PermissionSpec, allowed: bool | None, bob: User
) -> None:
    """&, | and ~ over sync, async and DRF operands allow exactly what the formula says
    (``None``: the formula refuses bob's handshake already)."""
    if allowed is None:
        with pytest.raises(ConnectionRefused):
            async with ApiClient(guarded(spec), user=bob):
                pass
        return
    async with ApiClient(guarded(spec), user=bob) as client:
        renamed = await ask(client, "rename", pk=1)
        archived = await ask(client, "archive", pk=2)
    if allowed:
        assert (renamed["response_status"], archived["response_status"]) == (200, 200)
        assert RAN == ["rename", "archive"]
    else:
        assert renamed == error_reply(403, DENIED, "rename")
        assert archived == error_reply(403, DENIED, "archive")
        assert RAN == []


@pytest.mark.parametrize(
    ("spec", "connects"),
    [
        pytest.param(RefuseConnect & Allow, False, id="refuse&allow"),
        pytest.param(Allow & AsyncRefuseConnect, False, id="allow&async-refuse"),
        pytest.param(RefuseConnect | AsyncRefuseConnect, False, id="refuse|async-refuse"),
        pytest.param(RefuseConnect | Allow, True, id="refuse|allow"),
        pytest.param(drf.IsAdminUser & AsyncRefuseConnect, False, id="drf-admin&async-refuse"),
        pytest.param(RefuseConnect | drf.IsAdminUser, False, id="refuse|drf-admin"),
        pytest.param(RefuseConnect | drf.AllowAny, True, id="refuse|drf-allow-any"),
        pytest.param(~RefuseConnect, True, id="~refuse"),
        pytest.param(~AsyncRefuseConnect, True, id="~async-refuse"),
        pytest.param(~(Allow | IsAuthenticated), True, id="~(allow|is-authenticated)"),
    ],
)
async def test_combined_can_connect_follows_boolean_logic_and_not_never_refuses(
    spec: PermissionSpec, connects: bool
) -> None:
    """&/| combine can_connect (DRF operands answer for a HEAD request); ~ never refuses a
    connection."""
    client = ApiClient(guarded(spec))
    if connects:
        async with client:
            pass
    else:
        with pytest.raises(ConnectionRefused):
            async with client:
                pass


async def test_not_is_authenticated_accepts_anonymous_users_and_refuses_bob(bob: User) -> None:
    """~IsAuthenticated accepts an anonymous handshake and its actions, refuses bob's actions."""
    consumer = guarded(~IsAuthenticated)
    async with ApiClient(consumer) as client:
        allowed = await client.call(Notes.rename, pk=1)
    assert allowed.data == 1
    async with ApiClient(consumer, user=bob) as client:
        refused = await ask(client, "rename", pk=2)
    assert refused == error_reply(403, DENIED, "rename")
    assert RAN == ["rename"]


@pytest.mark.parametrize("wrong", [object, IsAuthenticated(), "IsAuthenticated", None])
def test_wrong_permission_entry_is_improperly_configured(wrong: object) -> None:
    """A permission_classes entry that is not a permission class fails when the class is made,
    as every other definition error does."""
    with pytest.raises(ImproperlyConfigured, match="is not a typed_dcrf or DRF permission class"):
        guarded(AllowAny, cast("PermissionSpec", wrong))


def test_wrong_permission_entry_error_names_the_consumer_class() -> None:
    """The definition-time error says which consumer's permission_classes holds the mistake."""
    with pytest.raises(ImproperlyConfigured, match=r"Guarded\.permission_classes"):
        guarded(cast("PermissionSpec", IsAuthenticated()))


class BrokenCheck(BasePermission):
    def can_connect(self, scope: Scope, consumer: AsyncAPIConsumer) -> bool:
        raise RuntimeError("database down")


class BrokenCheckConsumer(AsyncAPIConsumer):
    permission_classes = (BrokenCheck,)


async def test_failing_connect_check_refuses_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """An exception in can_connect refuses the handshake and is logged, without a crash."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"), pytest.raises(ConnectionRefused):
        async with ApiClient(BrokenCheckConsumer):
            pass
    [record] = caplog.records
    assert record.getMessage() == "The handshake of BrokenCheckConsumer failed"


class PerUserMessage(BasePermission):
    """Sets its refusal message from the user, then yields to other connections."""

    async def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        self.message = f"{context.user.get_username()} does not own this."
        await asyncio.sleep(0.01)
        return False


class PerUserMessageConsumer(AsyncAPIConsumer):
    permission_classes = (PerUserMessage,)

    @action
    async def edit(self) -> Response[None]:
        return Response.no_content()


async def test_permission_state_is_not_shared_between_connections() -> None:
    """Each check has its own permission instance: a message never reaches another user."""
    alice, bob = User(username="alice"), User(username="bob")
    async with (
        ApiClient(PerUserMessageConsumer, user=alice) as first,
        ApiClient(PerUserMessageConsumer, user=bob) as second,
    ):
        await first.send({"action": "edit"})
        await second.send({"action": "edit"})
        assert (await first.receive())["errors"] == ["alice does not own this."]
        assert (await second.receive())["errors"] == ["bob does not own this."]


class ReadsAuth(drf.BasePermission):
    """A DRF permission that, like token permissions, reads request.auth first."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        _ = request.auth
        return bool(request.user.is_authenticated)


class ReadsAuthConsumer(AsyncAPIConsumer):
    permission_classes = (ReadsAuth,)

    @action
    async def secret(self) -> Response[str]:
        return Response.ok("shown")


@pytest.mark.django_db(transaction=True)
async def test_drf_permissions_reading_request_auth_keep_the_user() -> None:
    """Reading request.auth runs DRF's authenticators; the scope's user survives it."""
    alice = await db.run(User.objects.create_user, username="auth-alice")
    async with ApiClient(ReadsAuthConsumer, user=alice) as client:
        assert (await client.call(ReadsAuthConsumer.secret)).data == "shown"
    with pytest.raises(ConnectionRefused):
        async with ApiClient(ReadsAuthConsumer):
            pass
