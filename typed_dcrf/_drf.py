"""DRF objects built from a websocket scope, for DRF permissions and serializers."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode

from django.http import HttpRequest, QueryDict
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from typing_extensions import TypeIs

from typed_dcrf.types import Scope

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def scope_user(scope: Scope) -> AbstractBaseUser | AnonymousUser:
    """The scope's user (set by channels' AuthMiddleware), or an ``AnonymousUser``."""
    user = scope.get("user")
    if user is not None and hasattr(user, "is_authenticated"):
        # A user, an AnonymousUser or channels' UserLazyObject, resolved by AuthMiddleware.
        return cast("AbstractBaseUser | AnonymousUser", user)
    return anonymous_user()


def anonymous_user() -> AnonymousUser:
    """A new ``AnonymousUser``: how typed_dcrf makes every one."""
    return _anonymous_user_class()()


def authenticated(user: AbstractBaseUser | AnonymousUser) -> TypeIs[AbstractBaseUser]:
    """Whether ``user`` is an authenticated user (not an ``AnonymousUser``)."""
    return not isinstance(user, _anonymous_user_class()) and bool(user.is_authenticated)


@functools.cache
def _anonymous_user_class() -> type[AnonymousUser]:
    # Imported here: django.contrib.auth's models need the app registry; this module does not.
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser


class ScopeAuthentication(BaseAuthentication):
    """Authenticates as the scope's user, so that ``request.user`` and ``request.auth``
    (which DRF computes through authenticators) both hold for DRF permissions."""

    def __init__(self, user: AbstractBaseUser | AnonymousUser) -> None:
        self.user = user

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, None] | None:
        user = self.user
        if not authenticated(user):
            return None
        return user, None


class _SecureHttpRequest(HttpRequest):
    """The request of a ``wss`` connection: its scheme is ``https``."""

    def _get_scheme(self) -> str:
        return "https"


def drf_request(
    scope: Scope, method: str, query: Mapping[str, str | Sequence[str]] | None = None
) -> Request:
    """A DRF ``Request`` with ``method``: the scope's user, path, host and scheme, and ``query``
    as its query parameters (empty by default)."""
    secure = scope.get("scheme") in ("wss", "https")
    http = _SecureHttpRequest() if secure else HttpRequest()
    http.method = method
    http.path = http.path_info = str(scope.get("path", ""))
    for name, value in scope.get("headers", ()):
        if name == b"host":
            http.META["HTTP_HOST"] = value.decode("latin-1")
    # As Django's ASGIRequest: "unknown" and "0" when the server is not known.
    server = scope.get("server") or ("unknown", "0")
    http.META["SERVER_NAME"], http.META["SERVER_PORT"] = str(server[0]), str(server[1])
    client = scope.get("client")
    if client:  # as Django's ASGIRequest: what DRF's throttles identify anonymous users by
        http.META["REMOTE_ADDR"] = str(client[0])
    if query:
        http.GET = QueryDict(urlencode(query, doseq=True))
    authenticators = [ScopeAuthentication(scope_user(scope))]
    # pyright resolves this call through a stubbed __new__ with no parameters; it is valid.
    return Request(http, authenticators=authenticators)  # pyright: ignore[reportCallIssue]
