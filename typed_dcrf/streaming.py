"""A streamed list: pages sent one after another, then an explicit end marker.

``stream_list`` runs detached, so the connection keeps serving (``cancel`` included) while it
streams. Each page is a 206 reply carrying the stream's request_id; the action's own 200 reply,
``{"end": true, ...}``, ends the stream. ``cancel {target}`` stops it before its next page.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

from typed_dcrf import _envelope, db
from typed_dcrf.actions import action
from typed_dcrf.exceptions import NotFound, ParseError
from typed_dcrf.generics import GenericModelConsumer, M, S
from typed_dcrf.pagination import Page
from typed_dcrf.responses import Response
from typed_dcrf.types import JSONValue

PARTIAL_CONTENT = 206
"""The status of every page of a stream; the end marker is a 200."""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last reply of a stream."""

    count: int
    """Rows sent."""
    cancelled: bool
    """Whether a ``cancel`` stopped the stream early."""
    end: Literal[True] = True


class StreamedListModelMixin(GenericModelConsumer[M, S]):
    """``stream_list {limit, offset, filters...}`` → 206 pages, then 200 ``{"end": true}``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._streams: dict[str, asyncio.Event] = {}

    @action(method="GET", detached=True)
    async def stream_list(self, /, **query: object) -> Response[StreamEnd]:
        """Send the filtered list page by page (``limit`` rows each) from ``offset``."""
        context = self.context
        key = _stream_key(context.request_id)
        if key in self._streams:
            raise ParseError("A stream with this request_id is running.")
        stop = self._streams[key] = asyncio.Event()
        sent = 0
        finished = False
        try:
            previous: Page[dict[str, Any]] | None = None
            while not (finished or stop.is_set()):
                page, page_json = await db.run(self._next_page, previous)
                previous = page
                await self.send(
                    _envelope.success(
                        context.action, context.request_id, PARTIAL_CONTENT, page_json
                    )
                )
                sent += len(page.results)
                finished = page.offset + page.limit >= page.count or not page.results
        finally:
            del self._streams[key]
        return Response.ok(StreamEnd(count=sent, cancelled=not finished))

    @action(method="GET")  # stops the connection's own stream; changes no data
    async def cancel(self, target: JSONValue) -> Response[None]:
        """Stop the running stream whose request_id is ``target`` (404 if there is none)."""
        stop = self._streams.get(_stream_key(target))
        if stop is None:
            raise NotFound("No running stream has this request_id.")
        stop.set()
        return Response.no_content()

    def _next_page(self, previous: Page[dict[str, Any]] | None) -> tuple[Page[dict[str, Any]], str]:
        """The page after ``previous`` (the first one when ``None``), serialized."""
        paginator = self.pagination_class()
        arguments = dict(self.context.arguments)
        if previous is not None:
            arguments |= paginator.following(previous)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()), arguments)
        return page, paginator.dump_page(page)


def _stream_key(request_id: JSONValue) -> str:
    return json.dumps(request_id, sort_keys=True)
