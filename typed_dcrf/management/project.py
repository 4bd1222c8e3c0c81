"""The AsyncAPI document of the project's ``ASGI_APPLICATION``, for the commands that write
it and what is generated from it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.module_loading import import_string

from typed_dcrf.routes import websocket_routes
from typed_dcrf.schema import asyncapi_document


def project_document(title: str | None, version: str) -> dict[str, Any]:
    """The document of ``ASGI_APPLICATION``'s websocket routes (``title``: by default, the
    application's module)."""
    path = getattr(settings, "ASGI_APPLICATION", None)
    if not isinstance(path, str):
        raise CommandError("Set ASGI_APPLICATION to the application whose routes to describe.")
    routes = websocket_routes(import_string(path))
    if not routes:
        raise CommandError(f"{path} routes no websocket to a typed_dcrf consumer.")
    return asyncapi_document(routes, title=title or path.rsplit(".", 1)[0], version=version)
