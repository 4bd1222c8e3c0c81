"""view_as_consumer: Django and DRF views served over a websocket, one consumer per connection."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.template.response import SimpleTemplateResponse
from django.views import View
from rest_framework import viewsets
from rest_framework.authentication import BasicAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response as DRFResponse
from rest_framework.views import APIView

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from tests.frames import ask, error_reply, item_row, reply
from typed_dcrf import db
from typed_dcrf.testing import ApiClient, ErrorReply
from typed_dcrf.types import JSONObject, JSONValue
from typed_dcrf.views import (
    DCRF_VIEW_ACTIONS,
    DEFAULT_VIEW_ACTIONS,
    ViewConsumer,
    ViewFunction,
    view_as_consumer,
)

HOST = {"headers": [(b"host", b"testserver")]}
SERVER_ERROR = ["A server error occurred."]


class ItemViewSet(viewsets.ModelViewSet[Item]):
    queryset = Item.objects.all()
    serializer_class = ItemSerializer


# DRF's stubs leave the type parameter of as_view's action values unknown.
ItemList = ViewConsumer.for_view(
    ItemViewSet.as_view({"get": "list", "post": "create"})  # pyright: ignore[reportUnknownMemberType]
)
ItemDetail = ViewConsumer.for_view(
    ItemViewSet.as_view(  # pyright: ignore[reportUnknownMemberType]
        {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
    )
)


def served(view: ViewFunction, actions: Mapping[str, str] | None = None) -> type[ViewConsumer]:
    """A consumer class for ``view`` (as view_as_consumer makes)."""
    return ViewConsumer.for_view(view, actions)


def consumer_of(view: ViewFunction, actions: Mapping[str, str] | None = None) -> type[ViewConsumer]:
    """The consumer class of the application view_as_consumer returns."""
    # channels' as_asgi() puts the consumer class on the application it returns.
    app: Any = view_as_consumer(view, actions)
    return cast("type[ViewConsumer]", app.consumer_class)


# Plain Django views.


def echo_request(request: HttpRequest, **kwargs: object) -> JsonResponse:
    """What the view sees of its request."""
    session = getattr(request, "session", None)
    return JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "scheme": request.scheme,
            "host": request.get_host(),
            "cookies": request.COOKIES,
            "accept": request.headers.get("Accept"),
            "content_type": request.content_type,
            "body": request.body.decode(),
            "user": request.user.get_username(),
            "theme": None if session is None else session.get("theme"),
            "kwargs": {key: str(value) for key, value in kwargs.items()},
            "csrf_exempt": getattr(request, "_dont_enforce_csrf_checks", False),
        }
    )


def echo_query(request: HttpRequest) -> JsonResponse:
    """The query parameters the view sees."""
    return JsonResponse({"tags": request.GET.getlist("tag"), "page": request.GET.get("page")})


def text(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain text")


def latin1(request: HttpRequest) -> HttpResponse:
    return HttpResponse("café".encode("latin-1"), content_type="text/plain; charset=latin-1")


def json_response(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"answer": 42, "ratio": 0.5, "items": [1, "two"]})


def problem_json(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"ok": true}', content_type="application/problem+json")


def binary(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"\xff\x00\xfe", content_type="application/octet-stream")


def unknown_charset(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"abc", content_type="text/plain; charset=no-such-charset")


def created(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"id": 7}, status=201)


def no_content(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


def empty_ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


async def async_view(request: HttpRequest) -> JsonResponse:
    """An async function view: awaited on the event loop."""
    await asyncio.sleep(0)
    return JsonResponse({"method": request.method, "loop": threading.current_thread().name})


class Greeting(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(f"hello {request.GET.get('name', 'you')}")


class ThreadTemplate:
    """A template (``render(context, request)``) telling which thread rendered it."""

    def render(self, context: object = None, request: object = None) -> str:
        return threading.current_thread().name


def template_view(request: HttpRequest) -> SimpleTemplateResponse:
    return SimpleTemplateResponse(ThreadTemplate())


async def async_template_view(request: HttpRequest) -> SimpleTemplateResponse:
    return SimpleTemplateResponse(ThreadTemplate())


class Ping(APIView):
    def get(self, request: Request) -> DRFResponse:
        return DRFResponse(["pong", request.user.is_authenticated])


class Private(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> DRFResponse:
        return DRFResponse({"user": request.user.get_username()})


class PrivateBasic(Private):
    authentication_classes = [BasicAuthentication]


# Views that fail.


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("No such page.")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret: database password")


def redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/login/?next=/items/")


def not_modified(request: HttpRequest) -> HttpResponse:
    return HttpResponseNotModified()


def gone_detail(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Gone away."}, status=410)


def conflict_fields(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"slug": ["Taken."], "code": 9}, status=409)


def teapot_list(request: HttpRequest) -> JsonResponse:
    return JsonResponse(["short", "stout"], status=418, safe=False)


def bad_json_error(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"{oops", status=409, content_type="application/json")


def null_json_error(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"null", status=400, content_type="application/json")


def html_error(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<h1>Nope</h1>", status=404)


def unavailable(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "secret: maintenance host db-2"}, status=503)


def nan_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"value": float("nan")})


def huge_json(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"value": 1e400}', content_type="application/json")


def invalid_json(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"{oops", content_type="application/json")


def streaming(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"a", b"b"]))


def no_response(request: HttpRequest) -> HttpResponse:
    return cast("HttpResponse", None)


def in_transaction(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"atomic": connection.in_atomic_block})


# A DRF model viewset.


@pytest.mark.django_db(transaction=True)
async def test_a_model_viewset_serves_list_create_retrieve_update_patch_delete() -> None:
    """A DRF ModelViewSet answers every CRUD action with DRF's data and statuses."""
    async with ApiClient(ItemList) as items, ApiClient(ItemDetail) as detail:
        made = await ask(items, "create", data={"name": "First", "slug": "first"})
        item = await db.run(Item.objects.get, slug="first")
        assert made == reply("create", 201, item_row(item))
        listed = await items.call(ItemList.actions["list"])
        assert (listed.status, listed.data) == (200, [item_row(item)])
        pk: JSONObject = {"pk": item.pk}
        assert await ask(detail, "retrieve", parameters=pk) == reply(
            "retrieve", 200, item_row(item)
        )
        put: JSONObject = {"name": "Renamed", "slug": "renamed", "done": True}
        updated = await ask(detail, "update", parameters=pk, data=put)
        item = await db.run(Item.objects.get, pk=item.pk)
        assert (item.name, item.slug, item.done) == ("Renamed", "renamed", True)
        assert updated == reply("update", 200, item_row(item))
        for name in ("patch", "partial_update"):
            patched = await ask(detail, name, parameters=pk, data={"name": name})
            assert patched["data"] == {**item_row(item), "name": name}
        assert await ask(detail, "destroy", parameters=pk) == reply("destroy", 204)
    assert not await db.run(Item.objects.exists)


@pytest.mark.django_db(transaction=True)
async def test_a_drf_validation_error_is_a_400_with_drfs_field_errors() -> None:
    """DRF's serializer errors arrive as an action's field errors: [{"field": [...]}]."""
    async with ApiClient(ItemList) as client:
        answer = await ask(client, "create", data={"name": ""})
    errors: list[JSONValue] = [
        {"name": ["This field may not be blank."], "slug": ["This field is required."]}
    ]
    assert answer == error_reply(400, errors, "create")


@pytest.mark.parametrize(
    ("pk", "detail"),
    [(999, "No Item matches the given query."), ("not-a-number", "Not found.")],
    ids=["missing", "malformed"],
)
@pytest.mark.django_db(transaction=True)
async def test_a_drf_404_keeps_drfs_own_message(pk: JSONValue, detail: str) -> None:
    """DRF's 404 response becomes a 404 reply listing DRF's detail."""
    async with ApiClient(ItemDetail) as client:
        answer = await ask(client, "retrieve", parameters={"pk": pk})
    assert answer == error_reply(404, [detail], "retrieve")


async def test_the_drf_views_of_dcrfs_own_tests_answer_as_there() -> None:
    """DCRF's view_as_consumer tests: an APIView's get as "retrieve", and a viewset's pk."""

    class Retrieve(viewsets.ViewSet):
        def retrieve(self, request: Request, pk: int) -> DRFResponse:
            return DRFResponse({"pk": pk, "query": request.query_params})

    async with ApiClient(consumer_of(Ping.as_view())) as client:
        assert await ask(client, "retrieve") == reply("retrieve", 200, ["pong", False])
    view = Retrieve.as_view({"get": "retrieve"})  # pyright: ignore[reportUnknownMemberType]
    async with ApiClient(consumer_of(view)) as client:
        answer = await ask(client, "retrieve", parameters={"pk": 42}, query={"value": 1})
    assert answer == reply("retrieve", 200, {"pk": 42, "query": {"value": "1"}})


# The request the view receives.


async def test_query_reaches_request_get_lists_and_numbers_included() -> None:
    """query becomes request.GET: lists as repeated keys, numbers as their text."""
    async with ApiClient(served(echo_query)) as client:
        answer = await ask(client, "get", query={"tag": ["a", "b"], "page": 2})
        assert answer["data"] == {"tags": ["a", "b"], "page": "2"}
        answer = await ask(client, "get", query={"tag": "only"})
        assert answer["data"] == {"tags": ["only"], "page": None}


@pytest.mark.parametrize(("scheme", "seen"), [("wss", "https"), ("ws", "http"), (None, "http")])
async def test_the_request_is_built_from_the_scope(scheme: str | None, seen: str) -> None:
    """Path, host, cookies, scheme, user and session come from the scope; the method from
    the action; data is a JSON body; JSON is asked for; CSRF checks are off."""
    user = User(username="alice")
    session = SessionStore()
    session["theme"] = "dark"
    headers = [
        (b"host", b"testserver"),
        (b"cookie", b"flavour=mint"),
        (b"accept", b"text/html"),
        (b"content-type", b"text/plain"),
    ]
    scope: dict[str, object] = {"headers": headers, "session": session}
    if scheme is not None:
        scope["scheme"] = scheme
    consumer = served(echo_request)
    async with ApiClient(consumer, user=user, scope=scope, path="/ws/items/") as client:
        answer = await ask(client, "create", data={"name": "x"}, parameters={"pk": 3})
    assert answer["data"] == {
        "method": "POST",
        "path": "/ws/items/",
        "scheme": seen,
        "host": "testserver",
        "cookies": {"flavour": "mint"},
        "accept": "application/json",
        "content_type": "application/json",
        "body": '{"name":"x"}',
        "user": "alice",
        "theme": "dark",
        "kwargs": {"pk": "3"},
        "csrf_exempt": True,
    }


async def test_without_data_there_is_no_body_and_the_user_is_anonymous() -> None:
    """No data: an empty body without a content type; no scope user: AnonymousUser."""
    async with ApiClient(served(echo_request), scope=HOST) as client:
        data = (await ask(client, "get"))["data"]
    assert isinstance(data, dict)
    assert (data["body"], data["content_type"], data["user"], data["theme"]) == ("", "", "", None)


async def test_the_scope_user_reaches_drf_and_drfs_permissions_answer() -> None:
    """The scope's user is DRF's request.user; IsAuthenticated on the view passes it."""
    alice = User(username="alice")
    async with ApiClient(served(Private.as_view()), user=alice) as client:
        assert await ask(client, "get") == reply("get", 200, {"user": "alice"})


@pytest.mark.parametrize(
    ("view", "status"),
    [(Private.as_view(), 403), (PrivateBasic.as_view(), 401)],
    ids=["session-auth", "basic-auth"],
)
async def test_drf_permissions_on_the_view_refuse_anonymous_with_drfs_status(
    view: ViewFunction, status: int
) -> None:
    """An anonymous client meets the view's own DRF permission: DRF's 403 or 401."""
    async with ApiClient(served(view)) as client:
        answer = await ask(client, "get")
    assert answer == error_reply(status, ["Authentication credentials were not provided."], "get")


# The reply.


@pytest.mark.parametrize(
    ("view", "status", "data"),
    [
        (text, 200, "plain text"),
        (latin1, 200, "café"),
        (json_response, 200, {"answer": 42, "ratio": 0.5, "items": [1, "two"]}),
        (problem_json, 200, {"ok": True}),
        (binary, 200, "ff00fe"),
        (unknown_charset, 200, "616263"),
        (created, 201, {"id": 7}),
        (no_content, 204, None),
        (empty_ok, 200, None),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
async def test_a_2xx_response_keeps_its_status_and_its_body_becomes_data(
    view: ViewFunction, status: int, data: JSONValue
) -> None:
    """JSON is parsed, text decoded with its charset, other bytes sent as hex, empty is null."""
    async with ApiClient(served(view)) as client:
        assert await ask(client, "get") == reply("get", status, data)


async def test_an_async_view_is_awaited_on_the_event_loop() -> None:
    """An async function view runs on the connection's own thread, with the action's method."""
    async with ApiClient(served(async_view)) as client:
        answer = await ask(client, "delete")
    assert answer["data"] == {"method": "DELETE", "loop": threading.current_thread().name}


@pytest.mark.parametrize("view", [template_view, async_template_view], ids=["sync", "async"])
async def test_template_responses_are_rendered_in_the_database_thread(
    view: ViewFunction,
) -> None:
    """A template response is rendered off the event loop, where templates may use the DB."""
    async with ApiClient(served(view)) as client:
        rendered = (await ask(client, "get"))["data"]
    assert isinstance(rendered, str)
    assert rendered != threading.current_thread().name


async def test_a_class_based_view_answers_its_methods_and_refuses_others() -> None:
    """A Django View: get answers; a method it lacks is Django's 405."""
    async with ApiClient(served(Greeting.as_view())) as client:
        assert await ask(client, "list", query={"name": "Bo"}) == reply("list", 200, "hello Bo")
        assert await ask(client, "options") == reply("options", 200)
        assert await ask(client, "post") == error_reply(405, ["Method Not Allowed"], "post")


@pytest.mark.parametrize(
    ("view", "status", "errors"),
    [
        (missing, 404, ["Not found"]),
        (forbidden, 403, ["You do not have permission to perform this action."]),
        (redirect, 302, ["Redirect to /login/?next=/items/."]),
        (not_modified, 304, ["Not Modified"]),
        (gone_detail, 410, ["Gone away."]),
        (conflict_fields, 409, [{"slug": ["Taken."], "code": "9"}]),
        (teapot_list, 418, ["short", "stout"]),
        (bad_json_error, 409, ["Conflict"]),
        (null_json_error, 400, ["Bad Request"]),
        (html_error, 404, ["Not Found"]),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
async def test_a_view_failing_gives_the_error_reply_an_action_would(
    view: ViewFunction, status: int, errors: list[JSONValue]
) -> None:
    """A raised Http404 or PermissionDenied, or a non-2xx response, is an error reply."""
    async with ApiClient(served(view)) as client:
        assert await ask(client, "get") == error_reply(status, errors, "get")


@pytest.mark.parametrize(
    ("view", "status", "logged"),
    [
        (broken, 500, "RuntimeError: secret: database password"),
        (unavailable, 503, "secret: maintenance host db-2"),
        (nan_json, 500, "NaN is not JSON"),
        (huge_json, 500, "1e400 is not a finite number"),
        (invalid_json, 500, "JSONDecodeError"),
        (streaming, 500, "returned StreamingHttpResponse, not an HttpResponse"),
        (no_response, 500, "returned NoneType, not an HttpResponse"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
async def test_a_server_error_is_masked_logged_and_the_connection_stays(
    view: ViewFunction, status: int, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A view raising, answering 5xx or sending what JSON cannot carry: a generic message,
    the cause in the log only, and the connection keeps answering."""
    with caplog.at_level(logging.ERROR, logger="typed_dcrf"):
        async with ApiClient(served(view)) as client:
            answer = await ask(client, "get")
            assert answer == error_reply(status, SERVER_ERROR, "get")
            assert "secret" not in str(answer)
            assert (await ask(client, "unknown"))["response_status"] == 405
    assert logged in caplog.text


@pytest.mark.django_db(transaction=True)
async def test_a_sync_view_is_atomic_under_atomic_requests() -> None:
    """As Django's handler does, a sync view runs in a transaction when ATOMIC_REQUESTS is set."""
    async with ApiClient(served(in_transaction)) as client:
        assert (await ask(client, "get"))["data"] == {"atomic": False}
        connection.settings_dict["ATOMIC_REQUESTS"] = True
        try:
            assert (await ask(client, "get"))["data"] == {"atomic": True}
        finally:
            connection.settings_dict["ATOMIC_REQUESTS"] = False


# Actions and arguments.


async def test_an_unknown_action_is_a_405() -> None:
    """Only mapped actions exist: any other name is a 405, as for any consumer."""
    async with ApiClient(served(text, {"read": "get"})) as client:
        assert await ask(client, "read") == reply("read", 200, "plain text")
        answer = await ask(client, "get")
    assert answer == error_reply(405, ['Method "get" not allowed.'], "get")


@pytest.mark.parametrize(
    ("arguments", "errors"),
    [
        (
            {"parameters": [1]},
            {"parameters": ["Invalid data. Expected a dictionary, but got list."]},
        ),
        (
            {"query": {"tag": True}},
            {"query": {"tag": ["Not a valid string.", "Input should be a valid list."]}},
        ),
        ({"extra": 1}, {"extra": ["Unexpected field."]}),
    ],
    ids=["parameters-list", "query-bool", "unknown-argument"],
)
async def test_wrong_arguments_are_a_400_before_the_view_runs(
    arguments: dict[str, JSONValue], errors: dict[str, JSONValue]
) -> None:
    """Arguments are validated as any action's: field errors, and the view is not called."""
    async with ApiClient(served(broken)) as client:
        assert await ask(client, "get", **arguments) == error_reply(400, [errors], "get")


def test_the_default_actions_and_dcrfs_mapping() -> None:
    """Every default wire name is an action with its HTTP method; DCRF's mapping is kept."""
    consumer = served(text)
    assert {name: found.method for name, found in consumer.actions.items()} == dict(
        DEFAULT_VIEW_ACTIONS
    )
    assert dict(DCRF_VIEW_ACTIONS) == {
        "create": "PUT",
        "update": "PATCH",
        "list": "GET",
        "retrieve": "GET",
    }
    dcrf = served(text, DCRF_VIEW_ACTIONS)
    assert {name: found.method for name, found in dcrf.actions.items()} == dict(DCRF_VIEW_ACTIONS)


async def test_dcrfs_mapping_calls_the_view_with_dcrfs_methods() -> None:
    """With DCRF_VIEW_ACTIONS, create is a PUT and update a PATCH."""
    async with ApiClient(served(echo_request, DCRF_VIEW_ACTIONS), scope=HOST) as client:
        methods = [(await ask(client, name))["data"] for name in ("create", "update")]
    assert [cast("dict[str, JSONValue]", data)["method"] for data in methods] == ["PUT", "PATCH"]


async def test_view_kwargs_can_come_from_the_websocket_route() -> None:
    """get_view_kwargs is the seam for URL arguments, e.g. the route's own kwargs."""

    class RoutedItem(ViewConsumer):
        view = echo_request

        def get_view_kwargs(self, parameters: Mapping[str, JSONValue]) -> dict[str, object]:
            return {**self.scope.get("url_route", {"kwargs": {}})["kwargs"], **parameters}

    route = {"url_route": {"args": (), "kwargs": {"pk": "5", "slug": "a"}}, **HOST}
    async with ApiClient(RoutedItem, scope=route) as client:
        data = (await ask(client, "get", parameters={"slug": "b"}))["data"]
    assert cast("dict[str, JSONValue]", data)["kwargs"] == {"pk": "5", "slug": "b"}


def test_a_subclass_serves_its_own_mapping_and_a_base_without_view_none() -> None:
    """A subclass's view_actions replace its parent's; a class without a view has none."""

    class Base(ViewConsumer):
        view_actions = {"read": "GET", "write": "POST"}

    class Served(Base):
        view = text

    class Narrowed(Served):
        view_actions = {"read": "get"}

    assert (dict(Base.actions), set(Served.actions), set(Narrowed.actions)) == (
        {},
        {"read", "write"},
        {"read"},
    )
    assert Narrowed.actions["read"].method == "GET"
    assert Narrowed.view is text  # not a method: the function itself


def test_for_view_names_the_class_after_the_view() -> None:
    """for_view makes a subclass named after the view's class or function."""
    assert ItemList.__name__ == "ItemViewSetConsumer"
    assert served(text).__name__ == "textConsumer"
    assert issubclass(ItemList, ViewConsumer)


@pytest.mark.parametrize(
    ("view", "actions", "message"),
    [
        (Greeting, None, "GreetingConsumer.view is the class Greeting; set the view function"),
        ("text", None, ".view is 'text'; set a view function"),
        (text, {"read": "FETCH"}, "maps 'read' to 'FETCH', not an HTTP method; use one of"),
    ],
    ids=["a-class", "not-callable", "not-a-method"],
)
def test_misconfiguration_fails_when_the_class_is_made(
    view: object, actions: Mapping[str, str] | None, message: str
) -> None:
    """A class instead of its view function, a non-callable or a bad method: a definition
    error naming the fix."""
    with pytest.raises(ImproperlyConfigured, match=message):
        served(cast("ViewFunction", view), actions)


# One consumer per connection.


async def test_each_connection_has_its_own_consumer_and_its_own_replies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """view_as_consumer's application makes a fresh consumer per connection: two clients
    at once each receive only their own replies."""
    consumer = consumer_of(echo_request)
    assert issubclass(consumer, ViewConsumer)
    assert consumer is not ViewConsumer
    assert consumer_of(echo_request) is not consumer
    instances: list[int] = []
    build = consumer.build_request

    def recording(
        self: ViewConsumer, method: str, query: Mapping[str, str | Sequence[str]], data: JSONValue
    ) -> HttpRequest:
        instances.append(id(self))
        return build(self, method, query, data)

    monkeypatch.setattr(consumer, "build_request", recording)
    alice, bob = User(username="alice"), User(username="bob")
    async with (
        ApiClient(consumer, user=alice, scope=HOST) as first,
        ApiClient(consumer, user=bob, scope=HOST) as second,
    ):
        for client in (first, second, first, second):
            await client.send({"action": "get", "request_id": 1})
        answers = {
            name: [await client.receive() for _ in range(2)]
            for name, client in (("alice", first), ("bob", second))
        }
        assert await first.receive_nothing()
        assert await second.receive_nothing()
    for name, replies in answers.items():
        assert [cast("dict[str, JSONValue]", r["data"])["user"] for r in replies] == [name, name]
    assert len(set(instances)) == 2


@pytest.mark.django_db(transaction=True)
async def test_the_typed_client_calls_view_actions() -> None:
    """ApiClient.call sends a view action's arguments and parses its Response[JSONValue]; an
    error status raises ErrorReply."""
    create = ItemList.actions["create"]
    async with ApiClient(ItemList) as client:
        made = await client.call(create, data={"name": "x", "slug": "x"})
        with pytest.raises(ErrorReply) as refused:
            _ = await client.call(create, data={"name": "y"})
    assert (made.status, cast("dict[str, JSONValue]", made.data)["slug"]) == (201, "x")
    assert (refused.value.status, refused.value.errors) == (
        400,
        [{"slug": ["This field is required."]}],
    )
