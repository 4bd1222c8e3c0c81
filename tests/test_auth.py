"""typed_dcrf.auth and the loss of access mid-connection, in process: the token from the
subprotocols, the header or the query string, over the session's user; a logout, deactivation,
deletion, password change or deleted token ends the access of the connections concerned (each
subscription gets one 401 frame, the next action is judged as anonymous), and only theirs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, cast

import pytest
from channels.layers import InMemoryChannelLayer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.app.consumers import LiveTasks
from tests.app.models import Item, Task
from tests.app.serializers import ItemSerializer
from tests.frames import envelope
from tests.server.auth_consumers import PrivateItems, Whoami
from typed_dcrf import (
    AsyncAPIConsumer,
    Demultiplexer,
    ModelConsumer,
    ObserveInstanceMixin,
    Response,
    TokenAuthMiddleware,
    TokenAuthMiddlewareStack,
    action,
    db,
)
from typed_dcrf._access import GROUP_PREFIX, LOST, user_group
from typed_dcrf.auth import check_access, drf_token_user, token_in
from typed_dcrf.consumers import REFUSED
from typed_dcrf.testing import Communicator
from typed_dcrf.types import ASGIApp, ASGIMessage, JSONObject, JSONValue

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5.0
NOT_AUTHENTICATED: list[JSONValue] = ["Authentication credentials were not provided."]


@dataclass
class Socket:
    """One in-process connection through ``TokenAuthMiddlewareStack``."""

    communicator: Communicator
    answer: ASGIMessage

    @property
    def accepted(self) -> bool:
        return bool(self.answer["type"] == "websocket.accept")

    async def send(self, frame: JSONValue) -> None:
        await self.communicator.send_input({"type": "websocket.receive", "text": json.dumps(frame)})

    async def receive(self) -> JSONObject:
        message = await self.communicator.receive_output(TIMEOUT)
        assert message["type"] == "websocket.send", message
        return cast("JSONObject", json.loads(message["text"]))

    async def ask(self, action: str, **arguments: JSONValue) -> JSONObject:
        await self.send({"action": action, "request_id": action, **arguments})
        return await self.receive()

    async def subscribe(self, item: Item, request_id: str = "watch") -> None:
        frame: JSONObject = {
            "action": "subscribe_instance",
            "request_id": request_id,
            "pk": item.pk,
        }
        await self.send(frame)
        assert await self.receive() == envelope("subscribe_instance", 201, request_id=request_id)

    async def receive_nothing(self) -> bool:
        return await self.communicator.receive_nothing(0.1)


@asynccontextmanager
async def connect(
    consumer: type[AsyncAPIConsumer],
    *,
    subprotocols: Sequence[str] = (),
    headers: Sequence[tuple[bytes, bytes]] = (),
    query: bytes = b"",
    cookie: str | None = None,
    app: ASGIApp | None = None,
) -> AsyncGenerator[Socket]:
    """A connection to ``consumer`` behind ``TokenAuthMiddlewareStack`` (or ``app``)."""
    sent = list(headers)
    if cookie is not None:
        sent.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    scope = {
        "type": "websocket",
        "path": "/ws/",
        "query_string": query,
        "headers": sent,
        "subprotocols": list(subprotocols),
    }
    served = app or TokenAuthMiddlewareStack(cast("ASGIApp", consumer.as_asgi()))
    communicator = Communicator(served, scope)
    await communicator.send_input({"type": "websocket.connect"})
    socket = Socket(communicator, await communicator.receive_output(TIMEOUT))
    try:
        yield socket
    finally:
        # As a server does after a close too.
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(TIMEOUT)


@pytest.fixture
async def bob() -> User:
    return await db.run(User.objects.create_user, "bob", password="old password")


@pytest.fixture
async def item() -> Item:
    return await db.run(Item.objects.create, name="milk", slug="milk")


async def token_of(user: User) -> str:
    token = await db.run(Token.objects.create, user=user)
    return str(token.pk)  # the key is the primary key


def _logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def login(user: User) -> tuple[Client, str]:
    """A session of ``user``, as a browser logged in through a view holds it, and its key."""
    client = await db.run(_logged_in, user)
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


async def rename(item: Item, name: str) -> None:
    item.name = name
    await db.run(item.save)


def lost(request_id: str = "watch") -> JSONObject:
    """The frame that ends a subscription whose connection lost its access."""
    return envelope("subscribe_instance", 401, errors=[LOST], request_id=request_id)


# Where the token comes from.


async def test_the_token_as_subprotocols_is_accepted_with_token_never_the_key(bob: User) -> None:
    """["token", key]: the user is the token's; the accept names the subprotocol "token"."""
    key = await token_of(bob)
    async with connect(Whoami, subprotocols=["token", key]) as socket:
        assert socket.answer == {"type": "websocket.accept", "subprotocol": "token"}
        assert await socket.ask("whoami") == envelope(
            "whoami", 200, data="bob", request_id="whoami"
        )


async def test_the_key_leaves_the_scope_subprotocols() -> None:
    """The consumer's scope lists the other subprotocols, without the token pair."""
    seen: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    async def nobody(key: str) -> AnonymousUser:
        return AnonymousUser()

    middleware = TokenAuthMiddleware(inner, lookup=nobody)
    scope = {"type": "websocket", "subprotocols": ["chat", "token", "k3y"], "headers": []}
    await middleware(scope, cast("Any", None), cast("Any", None))
    assert seen[0]["subprotocols"] == ["chat"]
    assert seen[0]["typed_dcrf.subprotocol"] == "token"
    assert scope["subprotocols"] == ["chat", "token", "k3y"]  # the server's scope is left alone


async def test_the_token_in_an_authorization_header(bob: User) -> None:
    key = await token_of(bob)
    headers = [(b"authorization", f"Token {key}".encode())]
    async with connect(Whoami, headers=headers) as socket:
        assert socket.answer.get("subprotocol") is None
        assert (await socket.ask("whoami"))["data"] == "bob"


async def test_the_token_in_the_query_string(bob: User) -> None:
    key = await token_of(bob)
    async with connect(Whoami, query=f"token={key}".encode()) as socket:
        assert (await socket.ask("whoami"))["data"] == "bob"


def test_the_default_lookup_needs_drfs_authtoken_app(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.apps import apps

    def installed(name: str) -> bool:
        return name != "rest_framework.authtoken"

    monkeypatch.setattr(apps, "is_installed", installed)
    with pytest.raises(ImproperlyConfigured, match=r"'rest_framework\.authtoken' to INSTALLED"):
        TokenAuthMiddlewareStack(cast("ASGIApp", Whoami.as_asgi()))

    async def nobody(key: str) -> AnonymousUser:
        return AnonymousUser()

    assert TokenAuthMiddleware(cast("ASGIApp", Whoami.as_asgi()), lookup=nobody).lookup is nobody


def test_where_the_token_is_read_first() -> None:
    """Subprotocols, then the header, then the query string; other schemes are not tokens."""
    scope: dict[str, Any] = {
        "subprotocols": ["token", "a"],
        "headers": [(b"authorization", b"Token b")],
        "query_string": b"token=c",
    }
    assert token_in(scope) == ("a", True)
    assert token_in({**scope, "subprotocols": ["token"]}) == ("b", False)
    assert token_in({**scope, "subprotocols": [], "headers": []}) == ("c", False)
    assert token_in({"headers": [(b"authorization", b"Bearer b")], "query_string": b""}) is None
    assert token_in({"query_string": b"token="}) is None
    # The name after "token" is the key, whatever it is: other subprotocols go before "token".
    assert token_in({"subprotocols": ["token", "graphql-ws", "k"]}) == ("graphql-ws", True)
    assert token_in({"subprotocols": ["graphql-ws", "token", "k"]}) == ("k", True)


async def test_an_unknown_token_is_anonymous_and_the_connection_accepted(bob: User) -> None:
    """Unknown key: AnonymousUser; an open consumer accepts, an IsAuthenticated one refuses."""
    async with connect(Whoami, subprotocols=["token", "nope"]) as socket:
        assert socket.answer["subprotocol"] == "token"
        assert (await socket.ask("whoami"))["data"] is None
    async with connect(PrivateItems, subprotocols=["token", "nope"]) as socket:
        assert socket.answer == {"type": "websocket.close", "code": REFUSED}


async def test_an_inactive_users_token_is_anonymous(bob: User) -> None:
    key = await token_of(bob)
    bob.is_active = False
    await db.run(bob.save)
    assert isinstance(await drf_token_user(key), AnonymousUser)
    async with connect(Whoami, query=f"token={key}".encode()) as socket:
        assert (await socket.ask("whoami"))["data"] is None


async def test_a_token_overrides_the_session_user(bob: User) -> None:
    """A session of bob, the token of alice: alice; an unknown token: anonymous."""
    alice = await db.run(User.objects.create_user, "alice")
    _, session = await login(bob)
    key = await token_of(alice)
    async with connect(Whoami, cookie=session) as socket:
        assert (await socket.ask("whoami"))["data"] == "bob"
    async with connect(Whoami, cookie=session, subprotocols=["token", key]) as socket:
        assert (await socket.ask("whoami"))["data"] == "alice"
    async with connect(Whoami, cookie=session, query=b"token=unknown") as socket:
        assert (await socket.ask("whoami"))["data"] is None


# Loss of access.


async def test_logout_ends_the_access_of_that_sessions_connections_only(
    bob: User, item: Item
) -> None:
    """Logging one session out: its connection's subscription gets one 401 frame and no more
    events, its next action is refused as anonymous; another session and a token stay."""
    browser, session = await login(bob)
    _, other_session = await login(bob)
    key = await token_of(bob)
    async with (
        connect(PrivateItems, cookie=session) as ended,
        connect(PrivateItems, cookie=other_session) as kept,
        connect(PrivateItems, cookie=session, subprotocols=["token", key]) as by_token,
    ):
        for socket in (ended, kept, by_token):
            await socket.subscribe(item)
        await db.run(browser.logout)
        assert await ended.receive() == lost()
        await rename(item, "oat milk")
        for socket in (kept, by_token):  # the message came first: it was ignored
            assert (await socket.receive())["action"] == "update"
            assert (await socket.ask("whoami"))["data"] == "bob"
        assert await ended.receive_nothing()
        assert await ended.ask("whoami") == envelope(
            "whoami", 401, errors=NOT_AUTHENTICATED, request_id="whoami"
        )


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
async def test_deactivation_and_deletion_end_every_connection(
    bob: User, item: Item, change: str
) -> None:
    _, session = await login(bob)
    key = await token_of(bob)
    alice = await db.run(User.objects.create_user, "alice")
    _, alice_session = await login(alice)
    async with (
        connect(PrivateItems, cookie=session) as by_session,
        connect(PrivateItems, subprotocols=["token", key]) as by_token,
        connect(PrivateItems, cookie=alice_session) as other_user,
    ):
        for socket in (by_session, by_token, other_user):
            await socket.subscribe(item, "s")
        if change == "deactivated":
            bob.is_active = False
            await db.run(bob.save)
        else:
            await db.run(bob.delete)
        for socket in (by_session, by_token):
            assert await socket.receive() == lost("s")
            reply = await socket.ask("whoami")
            assert (reply["response_status"], reply["errors"]) == (401, NOT_AUTHENTICATED)
        await rename(item, "oat milk")
        assert (await other_user.receive())["action"] == "update"
        assert await by_session.receive_nothing()
        assert await by_token.receive_nothing()


async def test_a_password_change_ends_the_sessions_not_the_token(bob: User, item: Item) -> None:
    _, session = await login(bob)
    key = await token_of(bob)
    async with (
        connect(PrivateItems, cookie=session) as by_session,
        connect(PrivateItems, subprotocols=["token", key]) as by_token,
    ):
        await by_session.subscribe(item)
        await by_token.subscribe(item)
        bob.set_password("new password")
        await db.run(bob.save)
        assert await by_session.receive() == lost()
        await rename(item, "oat milk")
        assert (await by_token.receive())["action"] == "update"
        assert (await by_token.ask("whoami"))["data"] == "bob"


async def test_a_save_that_changes_no_access_keeps_it(bob: User, item: Item) -> None:
    """A new e-mail address, a login elsewhere: the connections check again and stay."""
    _, session = await login(bob)
    async with connect(PrivateItems, cookie=session) as socket:
        await socket.subscribe(item)
        bob.email = "bob@example.com"
        await db.run(bob.save)
        await login(bob)
        await rename(item, "oat milk")
        assert (await socket.receive())["action"] == "update"
        assert (await socket.ask("whoami"))["data"] == "bob"


async def test_deleting_the_token_ends_its_connections_not_the_sessions(
    bob: User, item: Item
) -> None:
    _, session = await login(bob)
    key = await token_of(bob)
    async with (
        connect(PrivateItems, cookie=session) as by_session,
        connect(PrivateItems, headers=[(b"authorization", f"Token {key}".encode())]) as by_token,
    ):
        await by_session.subscribe(item)
        await by_token.subscribe(item)
        await db.run(Token.objects.filter(key=key).delete)
        assert await by_token.receive() == lost()
        await rename(item, "oat milk")
        assert (await by_session.receive())["action"] == "update"
        assert await by_token.receive_nothing()


async def test_every_subscription_gets_its_one_frame(bob: User, item: Item) -> None:
    key = await token_of(bob)
    async with connect(PrivateItems, subprotocols=["token", key]) as socket:
        await socket.subscribe(item, "a")
        await socket.subscribe(item, "b")
        await db.run(Token.objects.filter(key=key).delete)
        assert {json.dumps(await socket.receive()) for _ in range(2)} == {
            json.dumps(lost("a")),
            json.dumps(lost("b")),
        }
        assert await socket.receive_nothing()


async def test_a_user_without_a_session_or_token_is_checked_by_its_row(
    bob: User, item: Item
) -> None:
    """A user set by other middleware: deactivating it ends the access all the same."""

    async def as_bob(scope: Any, receive: Any, send: Any) -> None:
        consumer: ASGIApp = cast("ASGIApp", PrivateItems.as_asgi())
        await consumer({**scope, "user": bob}, receive, send)

    async with connect(PrivateItems, app=as_bob) as socket:
        await socket.subscribe(item)
        bob.first_name = "Bob"
        await db.run(bob.save)
        await rename(item, "oat milk")
        assert (await socket.receive())["action"] == "update"
        bob.is_active = False
        await db.run(bob.save)
        assert await socket.receive() == lost()
        assert (await socket.ask("whoami"))["response_status"] == 401


async def test_check_access_after_a_change_without_signals(bob: User, item: Item) -> None:
    """QuerySet.update() sends no signal: check_access(pk) has the connections check again."""
    key = await token_of(bob)
    async with connect(PrivateItems, subprotocols=["token", key]) as socket:
        await socket.subscribe(item)
        await db.run(User.objects.filter(pk=bob.pk).update, is_active=False)
        await db.run(check_access, bob.pk)
        assert await socket.receive() == lost()


# The channel layer: who joins, and what happens without it.


class UnreachableLayer(InMemoryChannelLayer):
    """A layer whose server cannot be reached."""

    async def group_add(self, group: str, channel: str) -> None:
        raise ConnectionError("the layer is down")


async def test_an_unreachable_layer_refuses_authenticated_users_only(
    bob: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An authenticated user whose access could not be revoked is refused (4003); anonymous
    users join no group, and are served."""
    key = await token_of(bob)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.test_auth.UnreachableLayer"}}
    async with connect(Whoami, subprotocols=["token", key]) as socket:
        assert socket.answer == {"type": "websocket.close", "code": REFUSED}
    assert "The handshake of Whoami failed" in caplog.text
    async with connect(Whoami) as socket:
        assert (await socket.ask("whoami"))["data"] is None


async def test_authenticated_connections_join_their_users_group_and_leave_it(
    bob: User, trips: list[str]
) -> None:
    """One group per user, left on disconnect; actions cost no trip to the database."""
    from channels.layers import get_channel_layer

    layer = cast("InMemoryChannelLayer", get_channel_layer())
    key = await token_of(bob)
    async with connect(Whoami, subprotocols=["token", key]) as socket, connect(Whoami) as anon:
        groups: Mapping[str, object] = layer.groups
        joined = [group for group in groups if group.startswith(GROUP_PREFIX)]
        assert joined == [user_group(bob.pk)]
        trips.clear()
        for _ in range(3):
            assert (await socket.ask("whoami"))["data"] == "bob"
            assert (await anon.ask("whoami"))["data"] is None
        assert trips == []
    groups = layer.groups
    assert not groups.get(user_group(bob.pk))


def test_user_groups_are_valid_layer_names() -> None:
    assert user_group(42) == "typed_dcrf.user.42"
    odd = user_group("a b/é" * 40)
    assert odd.startswith(GROUP_PREFIX)
    assert len(odd) < 100
    assert " " not in odd


async def test_the_users_group_is_joined_again_before_the_layer_forgets_it(
    bob: User, item: Item, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every half group_expiry the connection joins its user's group again: past the expiry,
    a revocation still reaches it."""
    from channels.layers import get_channel_layer

    layer_settings = {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    settings.CHANNEL_LAYERS = {"default": {**layer_settings, "CONFIG": {"group_expiry": 0.2}}}
    layer = cast("InMemoryChannelLayer", get_channel_layer())
    join = layer.group_add
    rejoined = asyncio.Event()
    joins: list[str] = []

    async def counted(group: str, channel: str) -> None:
        joins.append(group)
        if joins.count(user_group(bob.pk)) >= 3:  # two after the first, past the expiry
            rejoined.set()
        await join(group, channel)

    monkeypatch.setattr(layer, "group_add", counted)
    key = await token_of(bob)
    async with connect(PrivateItems, subprotocols=["token", key]) as socket:
        await socket.subscribe(item)
        await asyncio.wait_for(rejoined.wait(), TIMEOUT)
        await db.run(Token.objects.filter(key=key).delete)
        assert await socket.receive() == lost()


async def test_a_list_subscription_ends_with_its_frame(bob: User) -> None:
    key = await token_of(bob)
    async with connect(LiveTasks, subprotocols=["token", key]) as socket:
        reply = await socket.ask("subscribe_list")
        while reply["response_status"] == 206:  # the snapshot's pages, then the reply
            reply = await socket.receive()
        assert (reply["action"], reply["response_status"]) == ("subscribe_list", 201)
        await db.run(Token.objects.filter(key=key).delete)
        expected = envelope("subscribe_list", 401, errors=[LOST], request_id="subscribe_list")
        assert await socket.receive() == expected
        await db.run(Task.objects.create, title="after")
        assert await socket.receive_nothing()


class Streams(Demultiplexer):
    streams = MappingProxyType({"items": PrivateItems, "who": Whoami})


async def test_each_stream_of_a_multiplexed_socket_loses_its_access(bob: User, item: Item) -> None:
    """The socket is accepted with "token"; a deactivation reaches every stream's consumer."""
    key = await token_of(bob)
    app = TokenAuthMiddlewareStack(Streams.as_asgi())
    async with connect(PrivateItems, subprotocols=["token", key], app=app) as socket:
        assert socket.answer["subprotocol"] == "token"
        frame: JSONObject = {"action": "subscribe_instance", "request_id": "watch"}
        frame["pk"] = item.pk
        await socket.send({"stream": "items", "payload": frame})
        assert (await socket.receive())["payload"] == envelope(
            "subscribe_instance", 201, request_id="watch"
        )
        bob.is_active = False
        await db.run(bob.save)
        assert await socket.receive() == {"stream": "items", "payload": lost()}
        for stream in ("who", "items"):
            await socket.send({"stream": stream, "payload": {"action": "whoami"}})
            reply = cast("JSONObject", (await socket.receive())["payload"])
            expected = (200, None) if stream == "who" else (401, None)
            assert (reply["response_status"], reply["data"]) == expected


# Revocations racing the connection's own work.


async def test_a_subscription_made_as_a_revoked_user_is_refused(
    bob: User, item: Item, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A detached subscribe_list that started before the revocation and subscribes after it
    (revoke() had nothing of it to end) is refused with the 401 of a lost access, and the
    revoked connection gets no event."""
    from typed_dcrf._subscriptions import Subscription, Subscriptions

    add = Subscriptions.add
    reached, release = asyncio.Event(), asyncio.Event()

    async def held(self: Subscriptions, subscription: Subscription, *, limit: int) -> None:
        if subscription.live is not None:
            reached.set()
            await release.wait()
        await add(self, subscription, limit=limit)

    monkeypatch.setattr(Subscriptions, "add", held)
    key = await token_of(bob)
    async with connect(LiveTasks, subprotocols=["token", key]) as socket:
        task = await db.run(Task.objects.create, title="first")
        frame: JSONObject = {"action": "subscribe_instance", "request_id": "watch", "pk": task.pk}
        await socket.send(frame)
        assert await socket.receive() == envelope("subscribe_instance", 201, request_id="watch")
        await socket.send({"action": "subscribe_list", "request_id": "list"})
        await asyncio.wait_for(reached.wait(), TIMEOUT)
        await db.run(Token.objects.filter(key=key).delete)
        assert await socket.receive() == lost()
        release.set()
        assert await socket.receive() == envelope(
            "subscribe_list", 401, errors=[LOST], request_id="list"
        )
        await db.run(Task.objects.create, title="after")
        assert await socket.receive_nothing()


class DiscardFails(InMemoryChannelLayer):
    """A layer that cannot be reached when a channel leaves a group."""

    async def group_discard(self, group: str, channel: str) -> None:
        raise ConnectionError("the layer is down")


class Disconnecting(Whoami):
    """Records its disconnect()."""

    codes: ClassVar[list[int]] = []

    async def disconnect(self, code: int) -> None:
        Disconnecting.codes.append(code)


def rejoining() -> list[asyncio.Task[Any]]:
    """The tasks that join a user's group again: one per connection that has its access."""
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "_rejoin"
    ]


async def test_a_layer_failing_at_disconnect_still_runs_disconnect(
    bob: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Leaving the user's group fails (logged): the consumer's disconnect() runs all the same,
    and nothing of the connection is left running."""
    Disconnecting.codes = []
    key = await token_of(bob)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.test_auth.DiscardFails"}}
    async with connect(Disconnecting, subprotocols=["token", key]) as socket:
        assert (await socket.ask("whoami"))["data"] == "bob"
        assert len(rejoining()) == 1
    assert Disconnecting.codes == [1000]
    assert rejoining() == []
    assert "Leaving the user's group" in caplog.text


async def test_a_revocation_that_fails_midway_leaves_nothing_running(
    bob: User, item: Item, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ending the subscriptions fails (logged): the connection is anonymous all the same, and
    no longer joins its user's group again."""
    from typed_dcrf._subscriptions import Subscriptions

    async def fails(self: Subscriptions) -> None:
        raise RuntimeError("the subscriptions could not be ended")

    monkeypatch.setattr(Subscriptions, "revoke", fails)
    key = await token_of(bob)
    async with connect(PrivateItems, subprotocols=["token", key]) as socket:
        await socket.subscribe(item)
        assert len(rejoining()) == 1
        await db.run(Token.objects.filter(key=key).delete)
        assert (await socket.ask("whoami"))["response_status"] == 401
        assert rejoining() == []
    assert rejoining() == []


class JoinFailsOnce(InMemoryChannelLayer):
    """A layer one of whose pool's connections was cut: the first group_add fails."""

    failed = False

    async def group_add(self, group: str, channel: str) -> None:
        if not JoinFailsOnce.failed:
            JoinFailsOnce.failed = True
            import redis.exceptions

            raise redis.exceptions.ConnectionError("Connection reset by peer")
        await super().group_add(group, channel)


async def test_a_cut_layer_connection_does_not_refuse_the_handshake(
    bob: User, settings: Any
) -> None:
    """The user's group is joined again once when the layer's connection was cut."""
    JoinFailsOnce.failed = False
    key = await token_of(bob)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.test_auth.JoinFailsOnce"}}
    async with connect(Whoami, subprotocols=["token", key]) as socket:
        assert socket.accepted
        assert (await socket.ask("whoami"))["data"] == "bob"
    assert JoinFailsOnce.failed


class SessionUser(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    """Items to anyone; says who channels' get_user() finds in the connection's session."""

    @action
    async def session_user(self) -> Response[str | None]:
        from channels.auth import get_user

        user = await get_user(self.scope)
        return Response.ok(user.get_username() if user.is_authenticated else None)


async def test_a_revoked_connections_session_names_no_user(bob: User, item: Item) -> None:
    """After a logout, channels' get_user(scope) (or a view reading request.session) finds no
    user in the connection's session either: the session in its scope is an empty one."""
    browser, session = await login(bob)
    async with connect(SessionUser, cookie=session) as socket:
        await socket.subscribe(item)
        assert (await socket.ask("session_user"))["data"] == "bob"
        await db.run(browser.logout)
        assert await socket.receive() == lost()
        assert (await socket.ask("session_user"))["data"] is None


class Holding(Whoami):
    """``hold`` keeps the connection busy (it reads nothing from its channel meanwhile) until
    ``Holding.release`` is set."""

    release: ClassVar[asyncio.Event] = asyncio.Event()

    @action
    async def hold(self) -> Response[None]:
        await Holding.release.wait()
        return Response.ok(None)


async def test_a_dropped_revocation_closes_the_connection(bob: User, settings: Any) -> None:
    """The in-memory layer drops the message deleting the token (the channel of a connection
    without subscriptions is full): the connection is closed with 4429, as a slow client's."""
    from channels.layers import get_channel_layer

    from typed_dcrf._access import notify_user
    from typed_dcrf._events import local_state

    Holding.release = asyncio.Event()
    layer = {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 2}}
    settings.CHANNEL_LAYERS = {"default": layer}
    key = await token_of(bob)
    async with connect(Holding, subprotocols=["token", key]) as socket:
        state = local_state(get_channel_layer())
        await socket.send({"action": "hold", "request_id": "hold"})
        # Three that change nothing: one in channels' receive, two fill the channel.
        for _ in range(3):
            await db.run(notify_user, bob.pk, session="another session")
        await db.run(Token.objects.filter(key=key).delete)
        closed = await socket.communicator.receive_output(TIMEOUT)
        Holding.release.set()
        assert closed == {"type": "websocket.close", "code": 4429}
    assert state is not None
    assert not state.on_event_lost


async def test_a_list_subscription_revoked_during_its_snapshot_is_not_answered_404(
    bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The access is lost between two snapshot pages: the subscription's frame says so (401),
    and so does the action's own reply, rather than "ended before its snapshot" (404)."""
    send_envelope = AsyncAPIConsumer.send_envelope
    reached, release = asyncio.Event(), asyncio.Event()

    async def held(self: AsyncAPIConsumer, text: str) -> None:
        if '"response_status":206' in text.replace(" ", "") and not release.is_set():
            reached.set()
            await release.wait()
        await send_envelope(self, text)

    monkeypatch.setattr(AsyncAPIConsumer, "send_envelope", held)
    for title in ("one", "two"):
        await db.run(Task.objects.create, title=title)
    key = await token_of(bob)
    async with connect(LiveTasks, subprotocols=["token", key]) as socket:
        await socket.send({"action": "subscribe_list", "request_id": "list", "page_size": 1})
        await asyncio.wait_for(reached.wait(), TIMEOUT)
        await db.run(Token.objects.filter(key=key).delete)
        ended = envelope("subscribe_list", 401, errors=[LOST], request_id="list")
        assert await socket.receive() == ended
        release.set()
        assert (await socket.receive())["response_status"] == 206  # the page on its way
        assert await socket.receive() == ended
        assert await socket.receive_nothing()


# Access that cannot be told, layers without drops to see, signals of nobody.


def as_user(user: User) -> ASGIApp:
    """``PrivateItems`` with ``user`` set by other middleware: no session, no token."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        consumer: ASGIApp = cast("ASGIApp", PrivateItems.as_asgi())
        await consumer({**scope, "user": user}, receive, send)

    return app


async def test_a_credential_that_cannot_be_checked_again_ends_the_access(
    bob: User, item: Item, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Reading the user's row again fails (the database is down): the access ends (logged)
    rather than outlive a revocation it could not see."""
    import typed_dcrf._access

    def fails(model: object, pk: object) -> bool:
        raise ConnectionError("the database is down")

    async with connect(PrivateItems, app=as_user(bob)) as socket:
        await socket.subscribe(item)
        monkeypatch.setattr(typed_dcrf._access, "_is_active", fails)
        bob.first_name = "Bob"
        await db.run(bob.save)
        assert await socket.receive() == lost()
        assert (await socket.ask("whoami"))["response_status"] == 401
    assert "Checking a connection's credential again failed" in caplog.text


async def test_without_a_channel_layer_an_authenticated_user_is_served(
    bob: User, settings: Any
) -> None:
    """No layer, no group to join: the handshake is accepted all the same (nothing could
    revoke the access, and nothing could be subscribed to either)."""
    settings.CHANNEL_LAYERS = {}
    key = await token_of(bob)
    async with connect(Whoami, subprotocols=["token", key]) as socket:
        assert socket.accepted
        assert (await socket.ask("whoami"))["data"] == "bob"


async def test_a_revocation_reaches_a_connection_over_redis(
    bob: User, item: Item, redis_layer: dict[str, Any]
) -> None:
    """Over the Redis layer (whose drops are not seen in process), deleting the token ends
    the access of its connection."""
    key = await token_of(bob)
    async with connect(PrivateItems, subprotocols=["token", key]) as socket:
        await socket.subscribe(item)
        await db.run(Token.objects.filter(key=key).delete)
        assert await socket.receive() == lost()
        assert (await socket.ask("whoami"))["response_status"] == 401


async def test_messages_dropped_twice_close_the_connection_once(
    bob: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Two messages for the connection dropped before it closed: one close, one warning."""
    from typed_dcrf._access import notify_user

    Holding.release = asyncio.Event()
    layer = {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 2}}
    settings.CHANNEL_LAYERS = {"default": layer}
    key = await token_of(bob)
    async with connect(Holding, subprotocols=["token", key]) as socket:
        await socket.send({"action": "hold", "request_id": "hold"})
        # One in channels' receive, two fill the channel, two dropped.
        for _ in range(5):
            await db.run(notify_user, bob.pk, session="another session")
        closed = await socket.communicator.receive_output(TIMEOUT)
        Holding.release.set()
        assert closed == {"type": "websocket.close", "code": 4429}
        assert await socket.receive_nothing()
    warnings = [r for r in caplog.records if "dropped a message for it" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_logout_of_nobody_tells_no_connection(
    bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logging out a client that was not logged in sends no message: there is no user whose
    connections would check their access."""
    import typed_dcrf._access

    told: list[object] = []

    def notify_user(pk: object, using: str = "default", **fact: JSONValue) -> None:
        told.append(pk)

    monkeypatch.setattr(typed_dcrf._access, "notify_user", notify_user)
    await db.run(Client().logout)
    assert told == []
    browser, _ = await login(bob)
    await db.run(browser.logout)
    assert told == [bob.pk]


async def test_a_subscription_revoked_while_it_joins_its_group_leaves_it(
    bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The access is lost while a detached subscribe_list joins its group: it is refused with
    the 401 of a lost access, and the connection is left in no group of it."""
    from channels.layers import get_channel_layer

    layer = cast("InMemoryChannelLayer", get_channel_layer())
    join, discard = layer.group_add, layer.group_discard
    reached, release, revoked = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def held(group: str, channel: str) -> None:
        if not group.startswith(GROUP_PREFIX):
            reached.set()
            await release.wait()
        await join(group, channel)

    async def left(group: str, channel: str) -> None:
        await discard(group, channel)
        if group.startswith(GROUP_PREFIX):
            revoked.set()  # the revocation is made: the connection leaves its user's group

    key = await token_of(bob)
    async with connect(LiveTasks, subprotocols=["token", key]) as socket:
        monkeypatch.setattr(layer, "group_add", held)
        monkeypatch.setattr(layer, "group_discard", left)
        await socket.send({"action": "subscribe_list", "request_id": "list"})
        await asyncio.wait_for(reached.wait(), TIMEOUT)
        await db.run(Token.objects.filter(key=key).delete)
        await asyncio.wait_for(revoked.wait(), TIMEOUT)
        release.set()
        expected = envelope("subscribe_list", 401, errors=[LOST], request_id="list")
        assert await socket.receive() == expected
        groups: Mapping[str, Mapping[str, object]] = layer.groups
        assert [group for group, members in groups.items() if "Task" in group and members] == []
        await db.run(Task.objects.create, title="after")
        assert await socket.receive_nothing()


class HeldItems(PrivateItems):
    """Holds its event frames while ``HeldItems.open`` is clear, as a server does for a
    client that does not read."""

    open: ClassVar[asyncio.Event] = asyncio.Event()

    async def send_envelope(self, text: str) -> None:
        if '"action":"update"' in text:
            await HeldItems.open.wait()
        await super().send_envelope(text)


async def test_a_revoked_client_that_does_not_read_is_closed_as_slow(
    bob: User, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """MAX_OUTGOING_EVENTS frames wait for the client when its access is lost: there is no
    room for the 401 frames, and it is closed with 4429 (logged) rather than left with
    subscriptions it was never told had ended."""
    settings.TYPED_DCRF = {"MAX_OUTGOING_EVENTS": 1}
    HeldItems.open = asyncio.Event()
    first, second = [await db.run(Item.objects.create, name=n, slug=n) for n in ("a", "b")]
    key = await token_of(bob)
    async with connect(HeldItems, subprotocols=["token", key]) as socket:
        await socket.subscribe(first, "first")
        await socket.subscribe(second, "second")
        await rename(first, "on its way")  # held as it is sent
        await rename(second, "waiting")  # the one frame that may wait
        await db.run(Token.objects.filter(key=key).delete)  # reaches the channel after them
        closed = await socket.communicator.receive_output(TIMEOUT)
        HeldItems.open.set()
        assert closed == {"type": "websocket.close", "code": 4429}
    assert "1 events wait for it (MAX_OUTGOING_EVENTS)" in caplog.text


class KeptTasks(LiveTasks):
    """Keeps its last instance, to see its subscriptions' groups."""

    last: ClassVar[KeptTasks | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        KeptTasks.last = self


async def until(condition: Callable[[], bool]) -> None:
    # Polled: nothing tells when an action has reached a point of its own.
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def test_a_subscription_made_anonymously_meanwhile_outlives_the_revoked_one(
    bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a revoked subscribe_list joins its group, the now anonymous connection subscribes
    to a row: the list is refused with the 401 of a lost access, the row's subscription is
    kept and hears of its changes."""
    from channels.layers import get_channel_layer

    layer = cast("InMemoryChannelLayer", get_channel_layer())
    join, discard = layer.group_add, layer.group_discard
    reached, release, revoked = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def held(group: str, channel: str) -> None:
        if ".list." in group and not release.is_set():
            reached.set()
            await release.wait()
        await join(group, channel)

    async def left(group: str, channel: str) -> None:
        await discard(group, channel)
        if group.startswith(GROUP_PREFIX):
            revoked.set()

    task = await db.run(Task.objects.create, title="first")
    key = await token_of(bob)
    async with connect(KeptTasks, subprotocols=["token", key]) as socket:
        consumer = KeptTasks.last
        assert consumer is not None
        monkeypatch.setattr(layer, "group_add", held)
        monkeypatch.setattr(layer, "group_discard", left)
        await socket.send({"action": "subscribe_list", "request_id": "list"})
        await asyncio.wait_for(reached.wait(), TIMEOUT)
        await db.run(Token.objects.filter(key=key).delete)
        await asyncio.wait_for(revoked.wait(), TIMEOUT)
        frame: JSONObject = {"action": "subscribe_instance", "request_id": "watch", "pk": task.pk}
        await socket.send(frame)  # as anonymous: its join waits for the list's
        groups = consumer.subscriptions.by_group
        await asyncio.wait_for(until(lambda: len(groups) == 2), TIMEOUT)
        release.set()
        replies = {
            str(reply["request_id"]): reply for reply in [await socket.receive() for _ in "ab"]
        }
        assert replies == {
            "list": envelope("subscribe_list", 401, errors=[LOST], request_id="list"),
            "watch": envelope("subscribe_instance", 201, request_id="watch"),
        }
        task.title = "changed"
        await db.run(task.save)
        event = await socket.receive()
        assert (event["action"], event["request_id"]) == ("update", "watch")
        assert await socket.receive_nothing()
