"""The board's page (plain HTML and JavaScript, no build step), and the AsyncAPI document of
its websocket API and the TypeScript client generated from it."""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from typed_dcrf.routes import websocket_routes
from typed_dcrf.schema import asyncapi_document
from typed_dcrf.typescript import typescript_client


@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "board/index.html")


def asyncapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_document())


def client(request: HttpRequest) -> HttpResponse:
    """The client ``manage.py typescript_client`` writes, as text to read or save."""
    return HttpResponse(typescript_client(_document()), content_type="text/plain; charset=utf-8")


@functools.cache
def _document() -> dict[str, Any]:
    # The routes the server serves; imported here, as the ASGI module sets Django up itself.
    from demo.asgi import application

    return asyncapi_document(websocket_routes(application), title="Task board", version="1.0.0")
