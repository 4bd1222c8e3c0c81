"""``view_as_consumer``: an ordinary Django or DRF view served over a websocket (DCRF parity).

Each mapped action builds a real Django request from the connection's scope (path, headers,
cookies, scheme, the scope's user and session), with the action's HTTP method, ``query`` as
``request.GET``, ``parameters`` as the view's keyword arguments and ``data`` as the JSON body
(DRF reads it as ``request.data``). Sync views run in the database thread, atomic under
``ATOMIC_REQUESTS`` as Django's handler makes them; async views run on the event loop.

Default actions (wire name → HTTP method): ``list``, ``retrieve``, ``get`` → GET; ``create``,
``post`` → POST; ``update``, ``put`` → PUT; ``patch``, ``partial_update`` → PATCH; ``delete``,
``destroy`` → DELETE; ``head`` → HEAD; ``options`` → OPTIONS. DCRF's own mapping (create →
PUT, update → PATCH) is ``DCRF_VIEW_ACTIONS``, for clients written against it.

Replies: a 2xx keeps its status; ``data`` is the parsed JSON of a JSON response (DRF's, a
``JsonResponse``), the decoded text of any other, the hex of bytes that do not decode, and
null when the body is empty. Any other status is an error reply: the JSON ``{"detail": X}``
gives ``[X]``, other JSON (DRF's field errors) is sent as actions send it, a redirect gives
``["Redirect to <Location>."]``, anything else the reason phrase (``["Not Found"]``); a 5xx is
masked and logged, as every server error is.

No Django middleware runs: the scope's user and session stand in for the authentication and
session middleware, and CSRF checks are off, since a websocket carries no CSRF token; a
websocket route is protected from other sites by channels' ``AllowedHostsOriginValidator``.
"""

from __future__ import annotations

import copy
import inspect
import io
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Self, TypeAlias, cast
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from pydantic import BeforeValidator
from rest_framework.exceptions import APIException

from typed_dcrf import db
from typed_dcrf._drf import scope_user
from typed_dcrf._envelope import parse_json
from typed_dcrf.actions import Action, AsyncAction
from typed_dcrf.consumers import AsyncAPIConsumer
from typed_dcrf.responses import Response, SuccessStatus
from typed_dcrf.types import ASGIApp, JSONValue

# A view takes the request and its URL keyword arguments, which differ from view to view.
SyncView: TypeAlias = Callable[..., HttpResponseBase]
AsyncView: TypeAlias = Callable[..., Awaitable[HttpResponseBase]]
ViewFunction: TypeAlias = SyncView | AsyncView
"""What ``View.as_view()``, DRF's ``as_view()`` or ``@api_view`` return, or a function view."""

DEFAULT_VIEW_ACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "list": "GET",
        "retrieve": "GET",
        "create": "POST",
        "update": "PUT",
        "patch": "PATCH",
        "partial_update": "PATCH",
        "delete": "DELETE",
        "destroy": "DELETE",
        "get": "GET",
        "post": "POST",
        "put": "PUT",
        "head": "HEAD",
        "options": "OPTIONS",
    }
)
"""``ViewConsumer``'s actions by default: wire name → HTTP method."""

DCRF_VIEW_ACTIONS: Mapping[str, str] = MappingProxyType(
    {"create": "PUT", "update": "PATCH", "list": "GET", "retrieve": "GET"}
)
"""DCRF's ``view_as_consumer`` mapping, for code that relied on it."""

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"})
"""The methods ``view_actions`` may name (Django's ``View.http_method_names``)."""

_ATTRIBUTE = "_view_action_"
"""The prefix of the class attributes holding a ``ViewConsumer``'s mapped actions."""

_SCHEMES = MappingProxyType({"ws": "http", "wss": "https"})
_REPLACED_HEADERS = frozenset({b"accept", b"content-type", b"content-length"})


def _query_text(value: object) -> object:
    """Numbers as text: DCRF clients send them as query values, which a query string holds
    as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


QueryText: TypeAlias = Annotated[str, BeforeValidator(_query_text)]
QueryValue: TypeAlias = QueryText | list[QueryText]
"""One ``query`` value: a string (or a number, as text) or a list of them."""

_NO_QUERY: Mapping[str, QueryValue] = MappingProxyType({})
_NO_PARAMETERS: Mapping[str, JSONValue] = MappingProxyType({})


class ViewConsumer(AsyncAPIConsumer):
    """Serves ``view`` over a websocket: each ``view_actions`` entry is an action calling it.

    An action takes ``query`` (``request.GET``), ``parameters`` (the view's keyword
    arguments) and ``data`` (the JSON body). A 2xx response keeps its status, its ``data``
    the parsed JSON, the text, or the hex of undecodable bytes (null when empty); any other
    status is an error reply (see the module's documentation).
    """

    # Declared, not set: a subclass without a view (a base for others) serves no view actions.
    view: ClassVar[ViewFunction]
    """The view: what ``View.as_view()``, DRF's ``as_view(...)`` return, or a function view."""

    view_actions: ClassVar[Mapping[str, str]] = DEFAULT_VIEW_ACTIONS
    """The actions calling the view: wire name → HTTP method."""

    _view_is_async: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        view = getattr(cls, "view", None)
        if view is not None:
            cls._view_is_async = _check_view(cls, view)
            if inspect.isfunction(vars(cls).get("view")):
                cls.view = staticmethod(view)  # so that self.view is the view, not a method
            _PROTOTYPE.compile()  # once: every copy shares its compiled signature
            for name, method in _checked_actions(cls):
                attribute = f"{_ATTRIBUTE}{name}"
                found = copy.copy(_PROTOTYPE)
                found.name, found.method = name, method
                setattr(cls, attribute, found)
                found.__set_name__(cls, attribute)
        super().__init_subclass__(**kwargs)

    @classmethod
    def _prepare_action(cls, found: Action[Any, Any]) -> Action[Any, Any] | None:
        # A view action is served by the class that made it: a subclass makes its own.
        if found.func is _call_view_action and vars(cls).get(found.attribute) is not found:
            return None
        return super()._prepare_action(found)

    @classmethod
    def for_view(cls, view: ViewFunction, actions: Mapping[str, str] | None = None) -> type[Self]:
        """A subclass serving ``view`` with ``actions`` (wire name → HTTP method; default
        ``view_actions``)."""
        namespace: dict[str, object] = {"view": view, "__module__": cls.__module__}
        if actions is not None:
            namespace["view_actions"] = MappingProxyType(dict(actions))
        view_class = getattr(view, "view_class", None)
        named = view_class if isinstance(view_class, type) else view
        name = f"{getattr(named, '__name__', 'View')}Consumer"
        return cast("type[Self]", type(name, (cls,), namespace))

    async def call_view(
        self,
        method: str,
        query: Mapping[str, str | Sequence[str]],
        parameters: Mapping[str, JSONValue],
        data: JSONValue,
    ) -> Response[JSONValue]:
        """Call the view with ``method`` and turn its response into the reply."""
        request = self.build_request(method, query, data)
        kwargs = self.get_view_kwargs(parameters)
        view = self.view
        if self._view_is_async:
            response = await cast("AsyncView", view)(request, **kwargs)
            if isinstance(response, SimpleTemplateResponse):
                _ = await db.run(response.render)  # a template may read the database
        else:
            response = await db.run(_call_sync_view, cast("SyncView", view), request, kwargs)
        return _reply(view, response)

    def build_request(
        self, method: str, query: Mapping[str, str | Sequence[str]], data: JSONValue
    ) -> HttpRequest:
        """The request the view receives: the scope's path, headers, scheme, user and session,
        with ``method``, ``query`` as its query string and ``data`` as its JSON body."""
        body = b"" if data is None else json.dumps(data, separators=(",", ":")).encode()
        scope = dict(self.scope)
        scheme = str(self.scope.get("scheme", "ws"))
        scope.update(
            type="http",
            method=method,
            query_string=urlencode(query, doseq=True).encode("ascii"),
            scheme=_SCHEMES.get(scheme, scheme),
            headers=_headers(self.scope.get("headers", ()), body),
        )
        # pyright resolves this call through HttpRequest's stubbed __new__; it is valid.
        request = _WebsocketRequest(scope, io.BytesIO(body))  # pyright: ignore[reportCallIssue]
        # The scope's user is AUTH_USER_MODEL's, which mypy's Django plugin calls User.
        request.user = scope_user(self.scope)  # type: ignore[assignment]
        session = self.scope.get("session")
        if session is not None:
            request.session = session
        return request

    def get_view_kwargs(self, parameters: Mapping[str, JSONValue]) -> dict[str, object]:
        """The view's keyword arguments (its URL arguments over HTTP): ``parameters``."""
        return dict(parameters)


async def _call_view_action(
    self: ViewConsumer,
    query: Mapping[str, QueryValue] = _NO_QUERY,
    parameters: Mapping[str, JSONValue] = _NO_PARAMETERS,
    data: JSONValue = None,
) -> Response[JSONValue]:
    """Call the view: ``query`` is ``request.GET``, ``parameters`` the view's keyword
    arguments, ``data`` the JSON body."""
    method = self.actions[self.context.action].method
    return await self.call_view(method, query, parameters, data)


# Every view action shares this one compiled signature; each class gets named copies.
_PROTOTYPE = AsyncAction[Any, Any](_call_view_action)


def _check_view(cls: type, view: object) -> bool:
    """Whether ``view`` is async; ``ImproperlyConfigured`` unless it is a view function."""
    if isinstance(view, type):
        msg = (
            f"{cls.__qualname__}.view is the class {view.__qualname__}; set the view function "
            f"it makes, e.g. `{view.__qualname__}.as_view()`."
        )
        raise ImproperlyConfigured(msg)
    if not callable(view):
        msg = f"{cls.__qualname__}.view is {view!r}; set a view function, e.g. `MyView.as_view()`."
        raise ImproperlyConfigured(msg)
    # asgiref's is asyncio's only before Python 3.12, where that is not deprecated.
    return iscoroutinefunction(view)  # pyright: ignore[reportDeprecated]


def _checked_actions(cls: type[ViewConsumer]) -> Iterable[tuple[str, str]]:
    """``cls.view_actions`` as (wire name, upper-case HTTP method) pairs, each checked."""
    for name, method in cls.view_actions.items():
        upper = str(method).upper()
        if upper not in HTTP_METHODS:
            allowed = ", ".join(sorted(HTTP_METHODS))
            msg = (
                f"{cls.__qualname__}.view_actions maps {name!r} to {method!r}, not an HTTP "
                f"method; use one of {allowed}."
            )
            raise ImproperlyConfigured(msg)
        yield name, upper


def _headers(headers: Iterable[tuple[bytes, bytes]], body: bytes) -> list[tuple[bytes, bytes]]:
    """The handshake's headers, asking for JSON, and describing ``body`` if there is one."""
    kept = [(name, value) for name, value in headers if name.lower() not in _REPLACED_HEADERS]
    kept.append((b"accept", b"application/json"))
    if body:
        kept += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return kept


class _WebsocketRequest(ASGIRequest):
    """A view's request from a websocket frame, which carries no CSRF token: CSRF checks
    are off (``AllowedHostsOriginValidator`` protects a websocket route)."""

    _dont_enforce_csrf_checks = True


def _call_sync_view(
    view: SyncView, request: HttpRequest, kwargs: Mapping[str, object]
) -> HttpResponseBase:
    """Call a sync view (in the database thread), atomic as ``ATOMIC_REQUESTS`` asks, and
    render its response."""
    response = BaseHandler().make_view_atomic(view)(request, **kwargs)
    if isinstance(response, SimpleTemplateResponse):
        _ = response.render()
    return response


def _reply(view: object, response: object) -> Response[JSONValue]:
    """The view's response as a reply, or the error to raise for it."""
    if not isinstance(response, HttpResponse):
        shown = getattr(getattr(view, "view_class", view), "__qualname__", repr(view))
        msg = (
            f"The view {shown} returned {type(response).__name__}, not an HttpResponse; "
            "a websocket reply needs the whole body (streaming responses are not supported)."
        )
        raise TypeError(msg)
    status = response.status_code
    if 200 <= status < 300:  # a 2xx the view chose: the Response checks it again
        return Response(_data(response), cast("SuccessStatus", status))
    raise ViewErrorResponse(status, _error_detail(response))


class ViewErrorResponse(APIException):
    """A view answered with a status that is not 2xx: raised, it becomes the error reply."""

    def __init__(self, status: int, detail: JSONValue) -> None:
        # DRF takes any JSON here: its error details turn numbers into strings themselves.
        super().__init__(cast("Any", detail))
        self.status_code = status


def _data(response: HttpResponse) -> JSONValue:
    """The reply's ``data``: parsed JSON, text, or hex for bytes that do not decode."""
    content = response.content
    if not content:
        return None
    try:
        text = content.decode(response.charset)
    except (UnicodeDecodeError, LookupError):  # LookupError: an unknown charset
        return content.hex()
    return parse_json(text) if _is_json(response) else text


def _error_detail(response: HttpResponse) -> JSONValue:
    """What an error reply lists for ``response`` (see the module's documentation)."""
    location = response.headers.get("Location")
    if 300 <= response.status_code < 400 and location:
        return f"Redirect to {location}."
    if _is_json(response) and response.content:
        try:
            value = parse_json(response.content.decode(response.charset))
        except (ValueError, LookupError):  # not JSON after all: the reason phrase says enough
            value = None
        if isinstance(value, dict) and value.keys() == {"detail"}:
            return value["detail"]
        if value is not None:
            return value
    return response.reason_phrase


def _is_json(response: HttpResponse) -> bool:
    media_type = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def view_as_consumer(view: ViewFunction, actions: Mapping[str, str] | None = None) -> ASGIApp:
    """The ASGI application serving ``view`` over a websocket, one consumer per connection:
    ``re_path(r"^user/$", view_as_consumer(UserViewSet.as_view()))``.

    Args:
        view: what ``View.as_view()``, DRF's ``as_view(...)`` return, or a function view.
        actions: wire name → HTTP method, replacing ``DEFAULT_VIEW_ACTIONS``
            (``DCRF_VIEW_ACTIONS`` is DCRF's mapping).
    """
    # channels types its apps with asgiref's event TypedDicts; these are such events.
    return cast("ASGIApp", ViewConsumer.for_view(view, actions).as_asgi())
