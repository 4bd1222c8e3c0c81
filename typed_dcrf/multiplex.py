"""Stream multiplexing: one websocket, several consumers, frames ``{"stream", "payload"}``.

The framing is ``channelsmultiplexer``'s (what the DCRF JavaScript client speaks by default).
Each stream is served by its own consumer instance, with its own permissions, state and channel
layer name; the socket's connect and disconnect reach every one of them. Frames are decoded once,
their limits applied to the raw frame, and handed to the stream's consumer already decoded.
Unlike ``channelsmultiplexer``, a frame that cannot be routed (not JSON, binary, no ``stream``,
an unknown or closed stream) gets an error frame, and the connection stays open.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, cast

from django.core.exceptions import ImproperlyConfigured

from typed_dcrf import _envelope
from typed_dcrf._exception_handler import handle_exception, logger
from typed_dcrf.conf import get_settings
from typed_dcrf.consumers import FRAME, REFUSED, SERVER_SEND, STREAM, AsyncAPIConsumer
from typed_dcrf.exceptions import APIError, NotFound, ParseError, PermissionDenied
from typed_dcrf.types import ASGIApp, ASGIMessage, JSONValue, Receive, Scope, Send

NOT_MULTIPLEXED = 'A multiplexed frame is {"stream": <name>, "payload": <frame>}.'

STREAM_BACKLOG = 64
"""Frames one stream's consumer may have waiting, as a plain socket's server buffers them; a
client sending faster waits (and so do its other streams), as on a plain socket."""


@dataclass(eq=False)
class _Stream:
    """One stream of the socket: its consumer's input, task and handshake answer."""

    name: str
    queue: asyncio.Queue[ASGIMessage] = field(default_factory=asyncio.Queue[ASGIMessage])
    room: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(STREAM_BACKLOG))
    """Frames that may wait for the consumer; beyond them, reading from the client waits."""
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    open: bool = False
    task: asyncio.Task[None] | None = None

    async def receive(self) -> ASGIMessage:
        """The consumer's next message (its ``receive``), making room for another frame."""
        message = await self.queue.get()
        if message.get("type") == FRAME:
            self.room.release()
        return message


class Demultiplexer:
    """An ASGI application serving ``streams`` (stream name → consumer class) on one socket.

    Route ``Demultiplexer.as_asgi(items=ItemConsumer, notes=NoteConsumer)``, or a subclass
    setting ``streams``. The socket is accepted when at least one stream's consumer accepts
    the handshake; it closes when the last open stream closes.
    """

    streams: ClassVar[Mapping[str, type[AsyncAPIConsumer]]] = MappingProxyType({})
    """The consumer class serving each stream."""

    handshake_timeout: ClassVar[float] = 10.0
    """Seconds each stream's consumer has to accept or refuse the handshake."""

    close_timeout: ClassVar[float] = 5.0
    """Seconds the streams' consumers have to finish after a disconnect."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Checked at run time: streams may come from untyped code.
        for name, consumer in cast("Mapping[object, object]", cls.streams).items():
            if not (isinstance(name, str) and name):
                msg = f"{cls.__qualname__}.streams: stream names are non-empty strings."
                raise ImproperlyConfigured(msg)
            if not (isinstance(consumer, type) and issubclass(consumer, AsyncAPIConsumer)):
                msg = (
                    f"{cls.__qualname__}.streams[{name!r}]: {consumer!r} is not a consumer "
                    f"class; give the class itself, e.g. `{{{name!r}: ItemConsumer}}`."
                )
                raise ImproperlyConfigured(msg)
        cls.streams = MappingProxyType(dict(cls.streams))

    @classmethod
    def as_asgi(cls, **streams: type[AsyncAPIConsumer]) -> ASGIApp:
        """The ASGI application for routing, serving ``cls.streams`` and ``streams``."""
        served = cls
        if streams:
            served = type(cls.__name__, (cls,), {"streams": {**cls.streams, **streams}})
        if not served.streams:
            msg = f"{cls.__qualname__} has no streams; name them: as_asgi(items=ItemConsumer)."
            raise ImproperlyConfigured(msg)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await served()(scope, receive, send)

        # As channels' consumers' as_asgi() says what it serves (read by typed_dcrf.schema).
        app.consumer_class = served  # type: ignore[attr-defined]  # pyright: ignore[reportFunctionMemberAccess]
        return app

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._send: Send | None = None
        self._accept: ASGIMessage | None = None  # the first stream's, with its subprotocol
        self._early: list[ASGIMessage] = []  # frames sent before the socket was accepted
        self._accepted = False
        self._gone = False  # the client left, or the socket was refused or closed
        self._closers: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._send = send
        for name, consumer in self.streams.items():
            stream = self._streams[name] = _Stream(name)
            # channels types its apps with asgiref's event TypedDicts; these are such events.
            app = cast("ASGIApp", consumer.as_asgi())
            upstream = functools.partial(self._from_stream, stream)
            stream.task = asyncio.create_task(
                _serve(app, {**scope, STREAM: name, SERVER_SEND: send}, stream.receive, upstream)
            )
            stream.task.add_done_callback(functools.partial(self._stream_ended, stream))
        try:
            while await self._handle(await receive()):
                pass
        finally:
            await self._stop_streams()

    async def _handle(self, message: ASGIMessage) -> bool:
        """Handle one message from the server; ``False`` once the client has gone."""
        kind = message.get("type")
        if kind == "websocket.connect":
            await self._connect()
        elif kind == "websocket.receive":
            text = message.get("text")
            await self._receive(text if isinstance(text, str) else None)
        elif kind == "websocket.disconnect":
            self._gone = True
            for stream in self._streams.values():
                stream.queue.put_nowait(message)
            return False
        return True

    async def _connect(self) -> None:
        """Hand the handshake to every stream; accept once they have answered, if one accepts,
        with its subprotocol; then send what open streams sent meanwhile."""
        for stream in self._streams.values():
            stream.queue.put_nowait({"type": "websocket.connect"})
        answers = [stream.answered.wait() for stream in self._streams.values()]
        try:
            async with asyncio.timeout(self.handshake_timeout):
                await asyncio.gather(*answers)
        except TimeoutError:
            logger.error("A stream of %s did not answer the handshake", type(self).__qualname__)
        if self._accept is None or not any(s.open for s in self._streams.values()):
            await self._to_client({"type": "websocket.close", "code": REFUSED})
            self._gone = True
            return
        await self._to_client(self._accept)
        self._accepted = True
        early, self._early = self._early, []
        for message in early:
            await self._to_client(message)

    async def _receive(self, text: str | None) -> None:
        """Route one client frame to its stream's consumer, or answer why it cannot be."""
        try:
            frame = _envelope.decode_frame(text, get_settings())
        except ParseError as exc:
            await self._send_error(exc, None, None)
            return
        name, payload = frame.get("stream"), frame.get("payload")
        if not isinstance(name, str) or "payload" not in frame:
            await self._send_error(ParseError(NOT_MULTIPLEXED), None, payload)
            return
        stream = self._streams.get(name)
        if stream is None:
            await self._send_error(NotFound(f'No stream "{name}".'), name, payload)
        elif not isinstance(payload, dict):
            await self._send_error(ParseError("A frame must be a JSON object."), name, payload)
        elif not stream.open:
            await self._send_error(PermissionDenied(f'Stream "{name}" is not open.'), name, payload)
        else:
            await stream.room.acquire()
            stream.queue.put_nowait({"type": FRAME, "frame": payload})

    async def _from_stream(self, stream: _Stream, message: ASGIMessage) -> None:
        """What a stream's consumer sends: its handshake answer, its frames, its close."""
        kind = message.get("type")
        if kind == "websocket.accept":
            stream.open = True
            stream.answered.set()
            if self._accept is None:
                self._accept = message
        elif kind == "websocket.close":
            await self._stream_closed(stream, message.get("code"))
        elif kind == "websocket.send" and stream.open:
            if self._accepted:
                await self._to_client(message)  # framed for its stream by the consumer
            else:
                self._early.append(message)

    def _stream_ended(self, stream: _Stream, task: asyncio.Task[None]) -> None:
        """A stream's consumer ended (after a disconnect, or by failing): the stream closes."""
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("The consumer of stream %r failed", stream.name, exc_info=exc)
        if stream.open or not stream.answered.is_set():
            closer = asyncio.create_task(self._stream_closed(stream, None))
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)

    async def _stream_closed(self, stream: _Stream, code: object) -> None:
        """``stream`` takes no more frames; the socket closes with the last open stream."""
        stream.open = False
        stream.answered.set()
        if self._accepted and not any(s.open for s in self._streams.values()):
            await self._to_client({"type": "websocket.close", "code": code or 1000})
            self._gone = True

    async def _stop_streams(self) -> None:
        """Wait for the streams' consumers to finish (``close_timeout``), then cancel them."""
        tasks = [stream.task for stream in self._streams.values() if stream.task is not None]
        _, pending = await asyncio.wait(tasks, timeout=self.close_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, *self._closers, return_exceptions=True)

    async def _send_error(self, exc: APIError, stream: str | None, payload: JSONValue) -> None:
        """An error frame, in ``stream`` when the frame named one, with the payload's action
        and request_id when it has them."""
        status, errors = handle_exception(exc, "a multiplexed frame")
        envelope = payload if isinstance(payload, dict) else {}
        action = envelope.get("action")
        text = _envelope.failure(
            action if isinstance(action, str) else None,
            envelope.get("request_id"),
            status,
            errors,
        )
        if stream is not None:
            text = _envelope.multiplexed(stream, text)
        await self._to_client({"type": "websocket.send", "text": text})

    async def _to_client(self, message: ASGIMessage) -> None:
        if self._send is None or self._gone:
            return  # the client is gone: nothing more reaches it
        await self._send(message)


async def _serve(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    await app(scope, receive, send)
