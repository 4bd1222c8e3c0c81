"""The demo's ASGI application: Django's pages over HTTP, the board's streams over one
websocket at ``/ws/``, with the session's user (``AuthMiddlewareStack``) and the origin checked
against ``ALLOWED_HOSTS``."""

from __future__ import annotations

import os
from typing import Any, cast

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
# Django is set up first: the consumers import models.
http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from board.consumers import Board  # noqa: E402

# django-stubs type path() for views only, not for the ASGI applications channels routes.
route = cast("Any", path)

application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([route("ws/", Board.as_asgi())]))
        ),
    }
)
