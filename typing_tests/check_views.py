"""`view_as_consumer` returns an ASGI application; `for_view` a consumer class; both take what
Django's and DRF's `as_view()` return, and function views, sync or async."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import assert_type

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from rest_framework.request import Request
from rest_framework.response import Response as DRFResponse
from rest_framework.views import APIView

from typed_dcrf import AsyncAPIConsumer, Response
from typed_dcrf.types import ASGIApp, JSONValue
from typed_dcrf.views import (
    DCRF_VIEW_ACTIONS,
    ViewConsumer,
    ViewErrorResponse,
    ViewFunction,
    view_as_consumer,
)


def text(request: HttpRequest) -> HttpResponse:
    return HttpResponse("text")


async def async_text(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse({"pk": pk})


class Greeting(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("hello")


class Ping(APIView):
    def get(self, request: Request) -> DRFResponse:
        return DRFResponse("pong")


class Narrow(ViewConsumer):
    view = text
    view_actions = {"read": "GET"}

    async def call_view(
        self,
        method: str,
        query: Mapping[str, str | Sequence[str]],
        parameters: Mapping[str, JSONValue],
        data: JSONValue,
    ) -> Response[JSONValue]:
        return await super().call_view(method, query, parameters, data)


assert_type(view_as_consumer(text), ASGIApp)
assert_type(view_as_consumer(async_text, DCRF_VIEW_ACTIONS), ASGIApp)
assert_type(view_as_consumer(Greeting.as_view()), ASGIApp)
assert_type(view_as_consumer(Ping.as_view(), {"get": "GET"}), ASGIApp)
assert_type(ViewConsumer.for_view(text), type[ViewConsumer])
assert_type(ViewConsumer.for_view(Ping.as_view(), {"read": "GET"}), type[ViewConsumer])
assert_type(Narrow.for_view(async_text), type[Narrow])
assert_type(ViewConsumer.view, ViewFunction)
consumer: type[AsyncAPIConsumer] = ViewConsumer.for_view(text)
error: Exception = ViewErrorResponse(410, {"detail": "Gone."})

# A view class is not a view: pass what its as_view() returns.
view_as_consumer(Greeting)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
ViewConsumer.for_view(text, {"read": 1})  # type: ignore[dict-item]  # pyright: ignore[reportArgumentType]
