"""A typed test client: ``await client.call(Consumer.action, **kwargs)`` returns ``Response[T]``.

Runs the consumer in-process through asgiref's ``ApplicationCommunicator``, as channels'
``WebsocketCommunicator`` does (which cannot be imported without daphne). Arguments are
type-checked against the action's own signature; replies are parsed back into ``T``.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
from collections.abc import Callable, Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast
from unittest import mock

from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import to_jsonable_python
from typing_extensions import ParamSpec

from typed_dcrf.actions import Action
from typed_dcrf.consumers import AsyncAPIConsumer
from typed_dcrf.lists import ListSubscribed
from typed_dcrf.multiplex import Demultiplexer
from typed_dcrf.observers import Observer
from typed_dcrf.responses import Response, SuccessStatus
from typed_dcrf.streaming import PARTIAL_CONTENT
from typed_dcrf.types import ASGIApp, ASGIMessage, ErrorList, JSONObject, JSONValue, Scope

P = ParamSpec("P")
R = TypeVar("R")


class Communicator:
    """An in-process connection to an ASGI application: asgiref's ``ApplicationCommunicator``,
    typed. As channels' communicator does, it skips the closing of stale database connections
    while the test awaits, since a test's database belongs to the test (the ``typed_dcrf``
    pytest plugin closes the database thread's connections after each test)."""

    def __init__(self, application: ASGIApp, scope: Scope) -> None:
        # asgiref's testing module is not annotated: held as Any, with this class its typed face.
        self._inner: Any = ApplicationCommunicator(application, scope)  # type: ignore[no-untyped-call]

    async def send_input(self, message: ASGIMessage) -> None:
        """Hand ``message`` to the application."""
        with _keeping_connections():
            await self._inner.send_input(message)

    async def receive_output(self, timeout: float) -> ASGIMessage:  # noqa: ASYNC109
        """The application's next message (``TimeoutError`` if none comes in ``timeout`` s)."""
        with _keeping_connections():
            message = await self._inner.receive_output(timeout)
        return cast("ASGIMessage", message)

    async def receive_nothing(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Whether the application sends nothing within ``timeout`` seconds."""
        nothing = await self._inner.receive_nothing(timeout)
        return bool(nothing)

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait for the application to end."""
        await self._inner.wait(timeout)


def _no_op() -> None:
    pass


def _idle() -> None:
    """Run in the database thread once the work queued before it is done."""


class _KeepConnections:
    """Makes channels' ``close_old_connections`` a no-op while any client awaits in the block
    (several clients may await at once; the first starts the patch, the last stops it)."""

    def __init__(self) -> None:
        self._depth = 0
        self._stop: Callable[[], object] | None = None

    @contextmanager
    def __call__(self) -> Generator[None]:
        if self._depth == 0:
            patch = mock.patch("channels.db.close_old_connections", _no_op)
            _ = patch.start()
            self._stop = patch.stop
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._stop is not None:
                _ = self._stop()


_keeping_connections = _KeepConnections()


class ConnectionRefused(Exception):
    """The consumer refused the websocket handshake."""

    def __init__(self, code: int | str | None) -> None:
        super().__init__(f"connection refused (close code {code})")
        self.code = code


class ErrorReply(Exception):
    """``call`` received an error reply (a non-2xx ``response_status``)."""

    def __init__(self, status: int, errors: ErrorList) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors


class UnexpectedReply(AssertionError):
    """A success reply whose ``data`` is not of the action's ``Response[T]`` type (or of its
    observer's, for an event)."""

    def __init__(self, action: Action[Any, Any] | None, reply: JSONObject, problem: str) -> None:
        source = repr(action) if action is not None else f"the event {reply.get('action')!r}"
        super().__init__(f"{source} replied {reply['data']!r}: {problem}")
        self.reply = reply


class ApiClient:
    """An in-process websocket client for one consumer class (or one ``Demultiplexer``).

    Args:
        consumer: the consumer class under test, or a ``Demultiplexer`` subclass.
        stream_name: with a ``Demultiplexer``, the stream that ``send`` and ``call`` frames go
            to, and whose frames ``receive`` unwraps (other frames come as they are); without
            it, only raw frames.
        user: put in the scope as ``scope["user"]`` (as channels' AuthMiddleware would).
        scope: extra scope keys (``url_route``, ``session``...).
        timeout: seconds to wait for each reply before a ``TimeoutError`` (5: a loaded CI
            machine may take longer than asgiref's 1 s; only a missing reply waits this long).
    """

    def __init__(
        self,
        consumer: type[AsyncAPIConsumer] | type[Demultiplexer],
        *,
        stream_name: str | None = None,
        user: AbstractBaseUser | AnonymousUser | None = None,
        scope: Mapping[str, object] | None = None,
        path: str = "/ws/",
        timeout: float = 5.0,
    ) -> None:
        full_scope: dict[str, object] = {
            "type": "websocket",
            "path": path,
            "query_string": b"",
            "headers": [],
            "subprotocols": [],
            **(scope or {}),
        }
        if user is not None:
            full_scope["user"] = user
        multiplexed = issubclass(consumer, Demultiplexer)
        if stream_name is not None and not multiplexed:
            msg = f"ApiClient({consumer.__qualname__}): stream_name= is for a Demultiplexer."
            raise TypeError(msg)
        # channels types its apps with asgiref's event TypedDicts; these are such events.
        self.communicator: Communicator = Communicator(
            cast("ASGIApp", consumer.as_asgi()), full_scope
        )
        self.stream_name = stream_name
        self._raw_only = multiplexed and stream_name is None
        self._serving: type[AsyncAPIConsumer] | None = (
            consumer.streams.get(stream_name or "")
            if issubclass(consumer, Demultiplexer)
            else consumer
        )
        self.timeout = timeout
        self._request_ids = itertools.count(1)
        self._pending: list[JSONObject] = []  # replies received while ``call`` awaited another

    async def __aenter__(self) -> Self:
        await self.communicator.send_input({"type": "websocket.connect"})
        answer = await self.communicator.receive_output(self.timeout)
        if answer["type"] != "websocket.accept":
            code = answer.get("code", 1000)
            raise ConnectionRefused(code if isinstance(code, int | str) else None)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.communicator.wait(self.timeout)
        # What the consumer sent to the database thread (an action cancelled as it closed) may
        # still run there: wait for it, so that the test's database is left alone once it ends.
        await sync_to_async(_idle)()

    async def send(self, frame: JSONValue) -> None:
        """Send ``frame`` as one JSON text frame (the payload of a ``stream_name`` frame)."""
        if self.stream_name is not None:
            frame = {"stream": self.stream_name, "payload": frame}
        await self.send_text(json.dumps(frame))

    async def send_text(self, text: str) -> None:
        """Send raw text (for malformed-frame tests)."""
        await self.communicator.send_input({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame."""
        await self.communicator.send_input({"type": "websocket.receive", "bytes": data})

    async def receive(self) -> JSONObject:
        """The next reply frame, decoded (``TimeoutError`` when none comes in time)."""
        if self._pending:
            return self._pending.pop(0)
        return await self._receive_frame()

    # Mirrors asgiref's receive_nothing, which takes the same timeout argument.
    async def receive_nothing(self, timeout: float = 0.1) -> bool:  # noqa: ASYNC109
        """Whether no frame is waiting or arrives within ``timeout`` seconds."""
        return not self._pending and await self.communicator.receive_nothing(timeout)

    async def call(self, action: Action[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Response[R]:
        """Run ``action`` over the socket; its reply parsed into ``Response[R]``.

        Raises:
            ErrorReply: the reply's status is not 2xx.
        """
        stream = await self.stream(action, *args, **kwargs)
        async for _ in stream:  # the pages of a streamed action
            pass
        return stream.response

    async def call_streamed(
        self, action: Action[P, R], /, *args: P.args, **kwargs: P.kwargs
    ) -> tuple[list[JSONValue], Response[R]]:
        """As ``call``, also returning the ``data`` of the 206 replies (pages of a stream)
        that came before the final reply."""
        stream = await self.stream(action, *args, **kwargs)
        pages = [page async for page in stream]
        return pages, stream.response

    async def stream(self, action: Action[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Stream[R]:
        """Send ``action`` and return its ``Stream``: iterate it for the 206 pages, then read
        its ``response``; ``await stream.cancel()`` cancels it while it runs."""
        request_id = await self._send_call("call", action, args, kwargs)
        return Stream(self, action, request_id)

    async def subscribe(
        self,
        observer: Observer[R],
        action: Action[P, Any],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Subscribed[R]:
        """Run a subscribing ``action`` (``Consumer.subscribe_instance``) and return the
        subscription, whose events carry ``observer``'s ``T``:
        ``await client.subscribe(C.instance_observer, C.subscribe_instance, pk=1)``.

        Raises:
            ErrorReply: the subscription was refused.
        """
        request_id = await self._send_call("subscription", action, args, kwargs)
        _status(await self.reply_to(request_id, action=action.name))
        return Subscribed(self, observer, request_id)

    async def subscribe_list(
        self,
        observer: Observer[R],
        action: Action[P, ListSubscribed],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> LiveList[R]:
        """Run a list subscription's ``action`` (``Consumer.subscribe_list``) and read its
        snapshot: ``await client.subscribe_list(C.list_observer, C.subscribe_list, done=True)``.

        Raises:
            ErrorReply: the subscription was refused.
        """
        stream = await self.stream(action, *args, **kwargs)
        pages = [page async for page in stream]
        return LiveList(self, observer, stream.request_id, stream.response.data, pages)

    async def _send_call(
        self, kind: str, action: Action[P, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str:
        """Send ``action`` with its arguments as JSON and a new request_id, and return it."""
        if self._raw_only:
            msg = "Actions on a Demultiplexer need ApiClient(..., stream_name=...)."
            raise TypeError(msg)
        serving = self._serving
        served = serving.actions.get(action.name) if serving is not None else None
        if serving is not None and (served is None or served.func is not action.func):
            # Action's type does not name its consumer (see DESIGN.md), so checkers cannot.
            msg = f"{action.owner}.{action.attribute} is not an action of {serving.__qualname__}."
            raise TypeError(msg)
        request_id = f"{kind}-{next(self._request_ids)}"
        bound = inspect.signature(action.func).bind(None, *args, **kwargs)
        arguments = dict(bound.kwargs)  # keyword arguments, **kwargs included
        positional = list(bound.signature.parameters)[1 : len(bound.args)]  # without self
        arguments.update(zip(positional, bound.args[1:], strict=True))
        frame: dict[str, Any] = {**to_jsonable_python(arguments), "action": action.name}
        frame["request_id"] = request_id
        await self.send(frame)
        return request_id

    async def reply_to(self, request_id: JSONValue, *, action: str | None = None) -> JSONObject:
        """The next reply to ``request_id`` (of ``action``, if given); other replies are kept,
        in order, for ``receive``."""

        def wanted(reply: JSONObject) -> bool:
            return reply.get("request_id") == request_id and action in (None, reply.get("action"))

        for index, reply in enumerate(self._pending):
            if wanted(reply):
                return self._pending.pop(index)
        while not wanted(reply := await self._receive_frame()):
            self._pending.append(reply)
        return reply

    async def nothing_for(self, request_id: JSONValue, timeout: float = 0.1) -> bool:  # noqa: ASYNC109
        """Whether no reply to ``request_id`` arrives within ``timeout`` seconds (one that does
        is kept for ``reply_to``)."""
        if any(reply.get("request_id") == request_id for reply in self._pending):
            return False
        deadline = asyncio.get_running_loop().time() + timeout
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            # Polled: cancelling a wait for the application's output would end the application.
            if await self.communicator.receive_nothing(left):
                return True
            reply = await self._receive_frame()
            self._pending.append(reply)
            if reply.get("request_id") == request_id:
                return False
        return True

    async def _receive_frame(self) -> JSONObject:
        message = await self.communicator.receive_output(self.timeout)
        text = message.get("text")
        if message["type"] != "websocket.send" or not isinstance(text, str):
            raise AssertionError(f"expected a text frame, the consumer sent {message!r}")
        frame = cast("JSONObject", json.loads(text))
        payload = frame.get("payload")
        if self.stream_name is not None and frame.get("stream") == self.stream_name:
            return cast("JSONObject", payload)
        return frame


class Stream(Generic[R]):
    """The replies to one request: the ``data`` of its 206 pages, then its final reply."""

    def __init__(self, client: ApiClient, action: Action[Any, R], request_id: str) -> None:
        self.client = client
        self.action = action
        self.request_id = request_id
        """The request_id the client sent (``cancel`` names it as its target)."""
        self._response: Response[R] | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> JSONValue:
        if self._response is not None:
            raise StopAsyncIteration
        reply = await self.client.reply_to(self.request_id)
        status = _status(reply)
        if status == PARTIAL_CONTENT:
            return reply["data"]
        try:
            data = self.action.signature.output.parse(reply["data"])
        except PydanticValidationError as exc:
            raise UnexpectedReply(self.action, reply, str(exc)) from None
        self._response = Response(data, cast("SuccessStatus", status))  # a 2xx: _status says
        raise StopAsyncIteration

    @property
    def response(self) -> Response[R]:
        """The final reply, parsed into ``Response[R]`` (once the pages are read)."""
        if self._response is None:
            raise RuntimeError("Read the stream's pages first: `async for page in stream`.")
        return self._response

    async def cancel(self) -> None:
        """Send ``cancel {target: request_id}``; the stream then ends before its next page.

        Raises:
            ErrorReply: no stream with this request_id runs (404).
        """
        cancel_id = f"{self.request_id}-cancel"
        await self.client.send(
            {"action": "cancel", "target": self.request_id, "request_id": cancel_id}
        )
        _status(await self.client.reply_to(cancel_id))


def _status(reply: JSONObject) -> int:
    """The reply's status; ``ErrorReply`` unless it is a 2xx."""
    status = cast("int", reply["response_status"])
    if not 200 <= status < 300:
        raise ErrorReply(status, cast("ErrorList", reply["errors"]))
    return status


@dataclass(frozen=True, slots=True)
class Event(Generic[R]):
    """One event of a subscription, as the client received it."""

    action: str
    """``create``, ``update`` or ``delete``."""
    status: int
    data: R | None
    """The row, parsed into the observer's ``T`` (``None`` for a delete)."""
    pk: JSONValue = None
    """The deleted row's primary key (a delete's ``data``); in a list, every event's row's."""
    seq: int | None = None
    """The event's version, when the subscription asked for it (``seq=True``)."""


class Subscribed(Generic[R]):
    """A subscription of an ``ApiClient``: await its events, or that none comes."""

    def __init__(self, client: ApiClient, observer: Observer[R], request_id: str) -> None:
        self.client = client
        self.observer = observer
        self.request_id = request_id
        """The subscription's request_id, which its events carry."""

    async def next(self) -> Event[R]:
        """The subscription's next event.

        Raises:
            ErrorReply: the frame is a refusal (the subscriber lost access: 401 or 403).
        """
        frame = await self.client.reply_to(self.request_id)
        status = _status(frame)
        action = str(frame["action"])
        if action == "delete":
            data = cast("JSONObject", frame["data"])
            return Event(action, status, None, data.get("pk"))
        try:
            parsed = self.observer.codec.parse(frame["data"])
        except PydanticValidationError as exc:
            raise UnexpectedReply(None, frame, str(exc)) from None
        return Event(action, status, parsed)

    async def nothing(self, timeout: float = 0.1) -> bool:  # noqa: ASYNC109
        """Whether no frame of this subscription arrives within ``timeout`` seconds (frames of
        others are kept for ``receive``)."""
        return await self.client.nothing_for(self.request_id, timeout)


class LiveList(Generic[R]):
    """A list subscription of an ``ApiClient``: the client's copy of the set, ``rows`` by
    primary key, which each event read with ``next`` or ``settle`` updates. It checks the
    protocol as it goes: a ``create`` of a row it holds, or an ``update`` or ``delete`` of one it
    does not, is an ``UnexpectedReply`` (except after a resume, when it cannot know)."""

    def __init__(
        self,
        client: ApiClient,
        observer: Observer[R],
        request_id: str,
        reply: ListSubscribed,
        pages: list[JSONValue],
    ) -> None:
        self.client = client
        self.observer = observer
        self.request_id = request_id
        """The subscription's request_id, which its events carry."""
        self.reply = reply
        """The reply after the snapshot."""
        self.seq: int = reply.seq
        """The latest version the copy is known to be at (with ``seq=True``, the last event's)."""
        self.rows: dict[JSONValue, R] = {}
        for page in pages:
            for row in cast("list[JSONObject]", cast("JSONObject", page)["results"]):
                self.rows[row[reply.key]] = self._parse(row, {})

    async def next(self) -> Event[R]:
        """The subscription's next event, applied to ``rows``.

        Raises:
            ErrorReply: the frame is an error (the subscriber lost access).
        """
        frame = await self.client.reply_to(self.request_id)
        status = _status(frame)
        action = str(frame["action"])
        found = frame.get("seq")
        seq = found if isinstance(found, int) else None
        if seq is not None:
            self.seq = max(self.seq, seq)
        data = frame["data"]
        key = "pk" if action == "delete" else self.reply.key
        if not isinstance(data, dict) or key not in data:
            raise UnexpectedReply(None, frame, f"not an object with {key!r}")
        pk = data[key]
        held = pk in self.rows
        if not self.reply.resumed and held != (action != "create"):
            which = "holds" if held else "lacks"
            raise UnexpectedReply(None, frame, f"{action} of row {pk!r}, which the copy {which}")
        if action == "delete":
            self.rows.pop(pk, None)
            return Event(action, status, None, pk, seq)
        parsed = self.rows[pk] = self._parse(data, frame)
        return Event(action, status, parsed, pk, seq)

    async def settle(self, quiet: float = 0.1) -> list[Event[R]]:
        """Apply the events that come until none has come for ``quiet`` seconds."""
        events: list[Event[R]] = []
        while not await self.client.nothing_for(self.request_id, quiet):
            events.append(await self.next())
        return events

    async def unsubscribe(self) -> None:
        """End the subscription (``unsubscribe_list`` with its request_id)."""
        await self.client.send({"action": "unsubscribe_list", "request_id": self.request_id})
        _status(await self.client.reply_to(self.request_id, action="unsubscribe_list"))

    def _parse(self, row: JSONValue, frame: JSONObject) -> R:
        try:
            parsed: R = self.observer.codec.parse(row)
            return parsed
        except PydanticValidationError as exc:
            raise UnexpectedReply(None, frame, str(exc)) from None
