"""The ASGI application of the real-server tests: a plain route and a multiplexed one, set up
as channels documents it (Django's ASGI application first, then the consumers)."""

from __future__ import annotations

import os
from typing import Any, cast

from django.core.asgi import get_asgi_application

http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from tests.leaks import FRAMES_FILE, append_to, record_frames  # noqa: E402

if frames_file := os.environ.get(FRAMES_FILE):  # scanned for leaks when the server stops
    record_frames(append_to(frames_file))

from tests.app.consumers import LiveTasks, ObservedBoards, ObservedItems  # noqa: E402
from tests.server.consumers import EchoConsumer, ItemConsumer, ThrottledEcho  # noqa: E402
from typed_dcrf import Demultiplexer  # noqa: E402

# django-stubs type path() for views only, not for the ASGI applications channels routes.
route = cast("Any", path)

application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": URLRouter(
            [
                route("ws/items/", ItemConsumer.as_asgi()),
                route("ws/observed/", ObservedItems.as_asgi()),
                route("ws/boards/", ObservedBoards.as_asgi()),
                route("ws/tasks/", LiveTasks.as_asgi()),
                route("ws/throttled/", ThrottledEcho.as_asgi()),
                route(
                    "ws/",
                    Demultiplexer.as_asgi(
                        items=ItemConsumer,
                        echo=EchoConsumer,
                        observed=ObservedItems,
                        tasks=LiveTasks,
                    ),
                ),
            ]
        ),
    }
)
