"""``AsyncAPIConsumer``: the websocket consumer that runs typed actions.

One frame travels: ``receive`` decodes it (frame limits included) → ``handle_frame``: envelope →
find the action → validate the arguments → check permissions → run (async on the connection's
task; sync in the database thread; detached as a tracked task) → serialize ``Response.data`` →
``send_envelope``, the one path every frame out takes. Any exception on the way becomes one
error reply, built in ``_exception_handler``; the connection stays open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils.functional import SimpleLazyObject

from typed_dcrf import _envelope, db
from typed_dcrf._access import SUBPROTOCOL, Access, join, leave, revoke
from typed_dcrf._checks import (
    ACTION,
    CONNECT,
    Node,
    Subject,
    compile_permissions,
    evaluate,
    evaluate_sync,
    raise_if_refused,
)
from typed_dcrf._drf import drf_request, scope_user
from typed_dcrf._exception_handler import (
    LAYER_TIMEOUT,
    LAYER_UNAVAILABLE,
    handle_exception,
    logger,
    retry_after,
)
from typed_dcrf._groups import leave_group
from typed_dcrf._outbox import buffered_bytes
from typed_dcrf._subscriptions import Subscriptions
from typed_dcrf.actions import Action
from typed_dcrf.conf import get_settings
from typed_dcrf.context import ActionContext, current_context
from typed_dcrf.exceptions import APIError, MethodNotAllowed, ParseError
from typed_dcrf.permissions import AllowAny, PermissionSpec
from typed_dcrf.responses import Response
from typed_dcrf.tasks import ConnectionTasks, Work
from typed_dcrf.types import ErrorList, JSONObject, JSONValue

if TYPE_CHECKING:
    from asgiref.typing import ASGIReceiveCallable, ASGIReceiveEvent
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.request import Request
    from rest_framework.throttling import BaseThrottle

T = TypeVar("T")

REFUSED = 4003
"""The close code of a refused handshake (servers answer it with HTTP 403)."""

STREAM = "typed_dcrf.stream"
"""The scope key naming a consumer's stream when a ``Demultiplexer`` serves it."""

SERVER_SEND = "typed_dcrf.server_send"
"""The scope key of the server's own ``send`` when a ``Demultiplexer`` stands between them."""

FRAME = "typed_dcrf.frame"
"""The type of the message a ``Demultiplexer`` hands a decoded frame to a consumer with."""

MISSING_ACTION = "Unable to find action in message body."
"""The 405 detail for a frame without ``action``: DCRF's exact text."""

LAYER_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0)
"""How long a consumer waits before it reads its channel layer again after a read failed (the
last, until one succeeds)."""


def _retrying_receive(receive: ASGIReceiveCallable, owner: str) -> ASGIReceiveCallable:
    """``receive`` of the channel layer, retried while the layer cannot be reached, instead of
    ending the consumer (and its client's connection) with the layer's error. A read that timed
    out (a ``socket_timeout`` shorter than the idle time, which Redis layers should not set) is
    logged at debug level only: it says nothing of the layer, and is tried again at once."""

    async def receive_again() -> ASGIReceiveEvent:
        failures = 0
        while True:
            try:
                return await receive()
            except LAYER_UNAVAILABLE as exc:
                if isinstance(exc, LAYER_TIMEOUT):
                    logger.debug("%s: reading the channel layer timed out: %r", owner, exc)
                    continue
                if failures == 0:
                    logger.warning("%s cannot read the channel layer: %r", owner, exc)
                wait = LAYER_RETRY_SECONDS[min(failures, len(LAYER_RETRY_SECONDS) - 1)]
                failures += 1
                await asyncio.sleep(wait)

    return receive_again


def _collect_actions(
    cls: type, prepare: Callable[[Action[Any, Any]], Action[Any, Any] | None]
) -> dict[str, Action[Any, Any]]:
    """Actions by wire name, following the MRO: a plain method overriding an action hides it.

    Each action is prepared by the class: compiled once, the first time a consumer class
    meets it, or specialized for the class (``prepare`` returns a copy to set on it).
    """
    by_attribute: dict[str, Action[Any, Any]] = {}
    for base in reversed(cls.__mro__):
        for attribute, value in vars(base).items():
            if isinstance(value, Action):
                if hasattr(AsyncAPIConsumer, attribute):
                    msg = (
                        f"{value.owner}.{attribute}: the action's method name hides the consumer's "
                        f"own {attribute!r}; rename the method and keep the wire name with "
                        f"@action(name={attribute!r})."
                    )
                    raise ImproperlyConfigured(msg)
                by_attribute[attribute] = value
            else:
                by_attribute.pop(attribute, None)
    by_name: dict[str, Action[Any, Any]] = {}
    for attribute, found in by_attribute.items():
        prepared = prepare(found)
        if prepared is None:
            continue
        if prepared is not found:
            setattr(cls, attribute, prepared)
        if prepared.name in by_name:
            other = by_name[prepared.name]
            msg = (
                f"{cls.__qualname__}: actions {other.func.__name__!r} and {attribute!r} are both "
                f"named {prepared.name!r}; give one of them another name=."
            )
            raise ImproperlyConfigured(msg)
        by_name[prepared.name] = prepared
    return by_name


class AsyncAPIConsumer(AsyncWebsocketConsumer):
    """A websocket consumer whose ``@action`` methods answer DCRF-compatible frames."""

    permission_classes: ClassVar[Sequence[PermissionSpec]] = (AllowAny,)
    """Checked on connect and before every action; all of them must allow."""
    throttle_classes: ClassVar[Sequence[type[BaseThrottle]] | None] = None
    """DRF throttles and ``ConnectionRateThrottle``, checked before every action (before its
    arguments are validated): a refusal is a 429 with ``data: {"wait": seconds}``. ``None``:
    DRF's ``DEFAULT_THROTTLE_CLASSES``, read when the class is created."""

    # Each action has its own parameters and data type, so the mapping can only say Any.
    actions: ClassVar[Mapping[str, Action[Any, Any]]] = MappingProxyType({})
    """This class's actions by wire name, collected when the class is created."""

    _permissions: ClassVar[Node | None] = None
    _throttles: ClassVar[tuple[type[BaseThrottle], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.actions = MappingProxyType(_collect_actions(cls, cls._prepare_action))
        cls._throttles = _throttle_classes(cls.throttle_classes)
        try:
            cls._permissions = compile_permissions(cls.permission_classes)
        except TypeError as exc:
            msg = (
                f"{cls.__qualname__}.permission_classes: {exc} List permission classes, not "
                f"instances, e.g. `permission_classes = (IsAuthenticated,)`."
            )
            raise ImproperlyConfigured(msg) from exc

    @classmethod
    def _prepare_action(cls, found: Action[Any, Any]) -> Action[Any, Any] | None:
        """The action as this class serves it (``None``: not served by this class)."""
        found.compile()
        return found

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tasks = ConnectionTasks(type(self).__qualname__)
        self._subscriptions: Subscriptions | None = None
        # The connection is closed (by this side, or the client left): nothing more is sent
        # (uvicorn would raise ClientDisconnected).
        self._send_closed = False
        self._access: Access | None = None

    # channels sets it to the layer's receive as the consumer starts: kept retrying here. Its
    # stubs declare it a callable attribute, which pyright reads as a method.
    @property
    def channel_receive(self) -> ASGIReceiveCallable:
        return self._channel_receive

    @channel_receive.setter
    def channel_receive(self, receive: ASGIReceiveCallable) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        self._channel_receive = _retrying_receive(receive, type(self).__qualname__)

    @property
    def subscriptions(self) -> Subscriptions:
        """This connection's subscriptions to observers' events (made on first use: most
        connections never subscribe)."""
        if self._subscriptions is None:
            self._subscriptions = Subscriptions(self)
        return self._subscriptions

    @property
    def user(self) -> AbstractBaseUser | AnonymousUser:
        """The connection's user (``AnonymousUser`` when the scope has none)."""
        return scope_user(self.scope)

    @property
    def context(self) -> ActionContext:
        """The context of the action being run: request_id, action, scope, user, arguments."""
        try:
            return current_context.get()
        except LookupError:
            raise RuntimeError("consumer.context is only available while an action runs.") from None

    @property
    def stream(self) -> str | None:
        """The stream this consumer serves on a multiplexed socket (``None``: a plain one)."""
        stream = self.scope.get(STREAM)
        return stream if isinstance(stream, str) else None

    # Receiving: every frame reaches handle_frame, decoded here or by a Demultiplexer.

    async def dispatch(self, message: dict[str, Any]) -> None:
        # channels closes stale DB connections before every message (a round trip to the DB
        # thread); here that happens only where the DB is used: typed_dcrf.db closes them
        # around every call, and sync actions run through it.
        kind = message.get("type")
        handler = getattr(self, get_handler_name(message), None)
        try:
            if handler is None:
                raise LookupError(f"{type(self).__qualname__} has no handler for {kind!r}")
            await handler(message)
        except StopConsumer:
            raise
        except Exception as exc:  # a channel layer handler failed: logged, the socket stays
            status, _ = handle_exception(exc, f"the handler of {kind!r}")
            if status < 500:
                logger.warning("The handler of %r raised %r", kind, exc)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:  # channels' types
        try:
            await super().__call__(scope, receive, send)
        finally:  # also when the server cancels the consumer instead of disconnecting it
            self._send_closed = True
            await self._tasks.close()
            if self._subscriptions is not None:
                await self._subscriptions.close()
            await self._leave_access()

    async def websocket_connect(self, message: Any) -> None:
        try:
            checks = self._permissions
            subject = Subject(self, None, "HEAD")
            if checks is None or (await evaluate(checks, CONNECT, subject)).allowed:
                # Before accepting: a layer that cannot be reached refuses the handshake,
                # rather than leave access that could not be revoked.
                self._access = await join(self)
                await super().websocket_connect(message)  # connect(): accept, unless overridden
                return
        except Exception:  # a failing check or connect() refuses, never leaves the client waiting
            logger.exception("The handshake of %s failed", type(self).__qualname__)
        await self.close(code=REFUSED)

    async def websocket_disconnect(self, message: Any) -> None:
        # As channels' version, without its trip to close stale DB connections (see dispatch),
        # and ending the consumer even when disconnect() or the channel layer fails.
        self._send_closed = True  # the client is gone: nothing more is sent to it
        try:
            await self._tasks.close()
            if self._subscriptions is not None:
                await self._subscriptions.close()
            await self._leave_access()
            for group in self.groups:
                await leave_group(self.channel_layer, group, self.channel_name)
        except Exception:
            logger.exception("Closing the connection of %s failed", type(self).__qualname__)
        try:
            await self.disconnect(message["code"])
        except Exception:
            logger.exception("The disconnect of %s failed", type(self).__qualname__)
        raise StopConsumer

    async def accept(
        self, subprotocol: str | None = None, headers: list[tuple[str, str]] | None = None
    ) -> None:
        """channels' ``accept``, with the subprotocol the middleware chose by default (the
        token's, ``"token"``)."""
        if subprotocol is None:
            chosen = self.scope.get(SUBPROTOCOL)
            subprotocol = chosen if isinstance(chosen, str) else None
        await super().accept(subprotocol, headers)

    async def typed_dcrf_access(self, message: dict[str, Any]) -> None:
        """A change of this connection's user (logout, deactivation, deletion, new password,
        deleted token): if it ends the connection's access, the connection is anonymous from
        the next action on, and each subscription ends with one 401 frame."""
        access = self._access
        if access is None or not await access.lost(message):
            return
        revoke(self.scope)  # anonymous from here on, whatever fails below
        try:
            if self._subscriptions is not None:
                await self._subscriptions.revoke()
        finally:
            await self._leave_access()

    async def _leave_access(self) -> None:
        access, self._access = self._access, None
        if access is not None:
            await leave(self, access)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = _envelope.decode_frame(text_data, get_settings())
        except ParseError as exc:
            await self._send_error(exc, None, None)
            return
        await self.handle_frame(frame)

    async def typed_dcrf_frame(self, message: dict[str, Any]) -> None:
        """A frame a ``Demultiplexer`` decoded for this consumer's stream."""
        await self.handle_frame(message["frame"])

    async def typed_dcrf_event(self, message: dict[str, Any]) -> None:
        """An observer's event for a group this connection subscribed to."""
        await self.subscriptions.deliver(message, self._permissions)

    async def handle_frame(self, frame: JSONObject) -> None:
        """Answer one decoded frame (taking ``frame`` over); every outcome is a reply."""
        request_id = frame.pop("request_id", None)
        name = frame.pop("action", None)
        if not isinstance(name, str):
            error = (
                MethodNotAllowed(None, MISSING_ACTION)
                if name is None
                else ParseError('"action" must be a string.')
            )
            await self._send_error(error, None, request_id)
            return
        found = self.actions.get(name)
        if found is None:
            await self._send_error(MethodNotAllowed(name), name, request_id)
            return
        if not found.detached:
            await self._run(found, request_id, frame)
            return
        try:
            _ = self.start_task(self._run(found, request_id, frame))  # its own reply ends it
        except APIError as exc:
            await self._send_error(exc, name, request_id)

    # Sending: every text frame out goes through send_envelope.

    def server_buffered(self) -> int | None:
        """How many bytes the server holds for the client, where it lets that be seen."""
        if not hasattr(self, "_server_buffered"):
            self._server_buffered = buffered_bytes(self.scope.get(SERVER_SEND, self.base_send))
        return None if self._server_buffered is None else self._server_buffered()

    async def send_envelope(self, text: str) -> None:
        """Send one frame, JSON text, to the client: replies, stream pages and pushes alike
        (framed for the consumer's stream on a multiplexed socket); nothing once the server has
        closed the connection (a reply that was on its way when it closed with 4429, say)."""
        if self._send_closed:
            return
        stream = self.stream
        framed = text if stream is None else _envelope.multiplexed(stream, text)
        await super().send(text_data=framed)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """channels' ``close``; the frames sent after it are dropped (uvicorn raises on them)."""
        if self._send_closed:
            return
        self._send_closed = True
        await super().close(code, reason)

    # As channels' stubs say of AsyncWebsocketConsumer.send, which this keeps the signature of.
    async def send(  # type: ignore[override]
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """channels' ``send``, for code written against it: a text frame takes the one send
        path, ``send_envelope``."""
        if text_data is None:
            await super().send(bytes_data=bytes_data, close=close)
            return
        await self.send_envelope(text_data)
        if close:
            await self.close()

    async def reply(
        self,
        action: str | None,
        data: object = None,
        errors: ErrorList | None = None,
        status: int = 200,
        request_id: JSONValue = None,
    ) -> None:
        """Push a frame in the five-key envelope, as DCRF's ``reply`` does: ``data`` is any
        value pydantic serializes (JSON values, dataclasses, models, dates...)."""
        if errors:
            await self.send_envelope(_envelope.failure(action, request_id, status, errors))
        else:
            await self.send_envelope(
                _envelope.success(action, request_id, status, _envelope.encode(data))
            )

    async def send_json(self, content: JSONValue, close: bool = False) -> None:
        """Push any JSON value as one frame (channels' and DCRF's ``send_json``)."""
        await self.send_envelope(_envelope.encode(content))
        if close:
            await self.close()

    # Detached tasks.

    def start_task(self, work: Work[T]) -> asyncio.Task[T]:
        """Run ``work`` as a task of this connection, so that it keeps serving frames meanwhile.

        Counted with the detached actions against ``MAX_DETACHED_ACTIONS`` (``Throttled``, a
        429 in an action, beyond it); its exception is logged; it is cancelled and awaited when
        the client disconnects.
        """
        return self._tasks.start(work, limit=get_settings().max_detached_actions)

    # Running actions.

    async def _run(self, found: Action[Any, Any], request_id: JSONValue, frame: JSONObject) -> None:
        # One coroutine from the frame to the reply: each level costs every frame.
        try:
            if self._throttles:
                # Imported here: DRF's throttling module needs Django's settings to import.
                from typed_dcrf._throttles import ThrottledView, check_throttles

                # Built when a throttle first reads it (ConnectionRateThrottle never does).
                method = found.method
                request = SimpleLazyObject(lambda: drf_request(self.scope, method))
                view = ThrottledView(self, found)
                await check_throttles(self._throttles, cast("Request", request), view)
            settings = get_settings()
            if len(frame) > settings.max_arguments:
                raise ParseError(f"An action takes at most {settings.max_arguments} arguments.")
            allow_unknown = settings.allow_unknown_arguments
            arguments = found.signature.validate(frame, allow_unknown=allow_unknown)
            context = ActionContext(found.name, request_id, self.scope, self.user, arguments)
            token = current_context.set(context)
            try:
                if found.is_async:
                    if self._permissions is not None:
                        subject = Subject(self, context, found.method)
                        refused = await evaluate(self._permissions, ACTION, subject)
                        raise_if_refused(refused, subject)
                    status, data_json = _serialize(found, await found.func(self, **arguments))
                else:
                    status, data_json = await _call_sync(self, found, context, self._permissions)
            finally:
                current_context.reset(token)
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if task is None or task.cancelling():
                raise  # the connection is closing: not the action's failure
            await self._send_error(exc, found.name, request_id)  # a stray cancellation inside
        except Exception as exc:  # every failure becomes one error reply
            await self._send_error(exc, found.name, request_id)
        else:
            await self.send_envelope(_envelope.success(found.name, request_id, status, data_json))
            for then in context.after_reply:
                await then()

    async def _send_error(
        self, exc: BaseException, action: str | None, request_id: JSONValue
    ) -> None:
        where = "a frame" if action is None else f"action {action!r}"
        status, errors = handle_exception(exc, where)
        data = retry_after(exc)
        await self.send_envelope(_envelope.failure(action, request_id, status, errors, data))


def _throttle_classes(
    declared: Sequence[type[BaseThrottle]] | None,
) -> tuple[type[BaseThrottle], ...]:
    if declared is not None:
        return tuple(declared)
    from rest_framework.settings import api_settings

    # DRF's settings hold dotted paths, which api_settings imports into classes.
    return tuple(cast("Sequence[type[BaseThrottle]]", api_settings.DEFAULT_THROTTLE_CLASSES))


@db.database_sync
def _call_sync(
    consumer: AsyncAPIConsumer,
    found: Action[Any, Any],
    context: ActionContext,
    permissions: Node | None,
) -> tuple[int, str]:
    """Check and run a sync action in one trip to the DB thread, atomic as asked (or as
    ``ATOMIC_REQUESTS`` says)."""
    if permissions is not None:
        subject = Subject(consumer, context, found.method)
        raise_if_refused(evaluate_sync(permissions, ACTION, subject), subject)
    atomic = found.atomic
    if atomic is None:
        atomic = bool(connection.settings_dict.get("ATOMIC_REQUESTS", False))
    with transaction.atomic() if atomic else nullcontext():
        # Serialized in the transaction too: lazy relations are read in this thread.
        return _serialize(found, found.func(consumer, **context.arguments))


def _serialize(found: Action[Any, Any], response: object) -> tuple[int, str]:
    if not isinstance(response, Response):
        msg = f"{found!r} returned {type(response).__name__}, not a Response."
        raise TypeError(msg)
    checked = cast("Response[object]", response)
    return checked.status, found.signature.output.dump_json(checked.data)
