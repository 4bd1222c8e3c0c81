"""The ASGI application of the authentication tests on real servers, as the README sets one
up: Django's HTTP application, and the consumers behind the origin check and the session and
token middleware."""

from __future__ import annotations

import os
from typing import Any, cast

from django.core.asgi import get_asgi_application

http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from tests.leaks import FRAMES_FILE, append_to, record_frames  # noqa: E402

if frames_file := os.environ.get(FRAMES_FILE):  # scanned for leaks when the server stops
    record_frames(append_to(frames_file))

from tests.server.auth_consumers import PrivateItems, Whoami  # noqa: E402
from typed_dcrf import TokenAuthMiddlewareStack  # noqa: E402

# django-stubs type path() for views only, not for the ASGI applications channels routes.
route = cast("Any", path)

websocket = URLRouter(
    [route("ws/items/", PrivateItems.as_asgi()), route("ws/whoami/", Whoami.as_asgi())]
)
application = ProtocolTypeRouter(
    {"http": http, "websocket": AllowedHostsOriginValidator(TokenAuthMiddlewareStack(websocket))}
)
