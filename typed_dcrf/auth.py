"""Token authentication of websocket connections: ``TokenAuthMiddleware`` and
``TokenAuthMiddlewareStack`` (channels' session stack, then the token).

The token is read from, in this order: the subprotocols ``["token", "<key>"]`` (what a browser
can send: ``new WebSocket(url, ["token", key])``; the connection is accepted with the
subprotocol ``"token"``, never the key; the name after ``"token"`` is always the key, so other
subprotocols go before ``"token"`` or after the key), an ``Authorization: Token <key>``
header, or the query string ``?token=<key>`` (which servers and proxies may log). A token
present decides the user, over the session's: an unknown key, or an inactive user's, gives
``AnonymousUser`` (the connection's permissions decide whether it is accepted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast
from urllib.parse import parse_qs

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

from typed_dcrf import db
from typed_dcrf._access import CREDENTIAL, SUBPROTOCOL, Credential, digest, names, notify_user
from typed_dcrf._drf import anonymous_user
from typed_dcrf.types import Scope

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

__all__ = [
    "TOKEN_SUBPROTOCOL",
    "ChannelsApp",
    "TokenAuthMiddleware",
    "TokenAuthMiddlewareStack",
    "TokenLookup",
    "check_access",
    "drf_token_user",
    "token_in",
]

TOKEN_SUBPROTOCOL = "token"
"""The subprotocol naming the token (``["token", "<key>"]``), accepted as the connection's."""


class ChannelsApp(Protocol):
    """An ASGI application as channels' routers and middleware take and give them (a
    ``URLRouter``, a consumer's ``as_asgi()``, a middleware)."""

    # channels types the arguments of its applications loosely: any ASGI app fits.
    def __call__(self, scope: Any, receive: Any, send: Any, /) -> Awaitable[Any]: ...


TokenLookup: TypeAlias = "Callable[[str], Awaitable[AbstractBaseUser | AnonymousUser]]"
"""Finds the user of a token key: an ``AnonymousUser`` when it names none (or an inactive one)."""


@db.database_sync
def drf_token_user(key: str) -> AbstractBaseUser | AnonymousUser:
    """The active user of DRF's ``Token`` ``key`` (``rest_framework.authtoken``), or an
    ``AnonymousUser``."""
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    # The stubs leave Token.user untyped: it is the AUTH_USER_MODEL.
    user = None if token is None else cast("AbstractBaseUser", token.user)  # pyright: ignore[reportUnknownMemberType]
    return user if user is not None and user.is_active else anonymous_user()


def token_in(scope: Scope) -> tuple[str, bool] | None:
    """The token key the handshake carries, and whether it came as subprotocols."""
    found = _token_at(scope)
    return None if found is None else (found[0], found[1] is not None)


def _token_at(scope: Scope) -> tuple[str, int | None] | None:
    """The token key the handshake carries, and the index of ``"token"`` in its subprotocols
    when it came as subprotocols (the key is the name after it, whatever it is)."""
    protocols: list[str] = list(scope.get("subprotocols") or ())
    for index, name in enumerate(protocols[:-1]):
        if name == TOKEN_SUBPROTOCOL:
            return protocols[index + 1], index
    for header, value in scope.get("headers") or ():
        if header.lower() == b"authorization":
            keyword, _, key = value.decode("latin-1").strip().partition(" ")
            if keyword.lower() == "token":
                return key.strip(), None
    query = parse_qs(bytes(scope.get("query_string") or b"").decode("latin-1"))
    if "token" in query:
        return query["token"][0], None
    return None


class TokenAuthMiddleware:
    """Set ``scope["user"]`` from the handshake's token, when it carries one (see the module).

    ``lookup`` finds a key's user (default: DRF's ``Token`` model, in the database thread).
    """

    def __init__(self, inner: ChannelsApp, *, lookup: TokenLookup = drf_token_user) -> None:
        from django.apps import apps

        if lookup is drf_token_user and not apps.is_installed("rest_framework.authtoken"):
            msg = (
                "TokenAuthMiddleware reads DRF's Token model: add 'rest_framework.authtoken' to "
                "INSTALLED_APPS (and migrate), or pass your own lookup=."
            )
            raise ImproperlyConfigured(msg)
        self.inner = inner
        self.lookup = lookup

    # receive and send as channels types them for middleware: Any, as the ASGI events vary.
    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        found = _token_at(scope) if scope.get("type") == "websocket" else None
        if found is None:
            await self.inner(scope, receive, send)
            return
        key, at = found
        user = await self.lookup(key) if key else anonymous_user()
        authenticated: dict[str, Any] = {**scope, "user": user}
        if at is not None:
            protocols: list[str] = list(scope.get("subprotocols") or ())
            # The key leaves the scope: consumer code and logs of it never see it.
            authenticated["subprotocols"] = protocols[:at] + protocols[at + 2 :]
            authenticated[SUBPROTOCOL] = TOKEN_SUBPROTOCOL
        if user.is_authenticated:
            authenticated[CREDENTIAL] = _token_credential(self.lookup, key, user.pk)
        await self.inner(authenticated, receive, send)


def TokenAuthMiddlewareStack(inner: ChannelsApp) -> ChannelsApp:
    """channels' ``AuthMiddlewareStack`` (cookies, session, session user), then the token."""
    from channels.auth import AuthMiddlewareStack

    # Typed by channels as any application, ASGI 2 included: this one is ASGI 3.
    return cast("ChannelsApp", AuthMiddlewareStack(TokenAuthMiddleware(inner)))


def check_access(user_pk: object, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Have the open connections of user ``user_pk`` check their session or token again, once
    the transaction on ``using`` commits: after a change that sends no signal
    (``QuerySet.update(is_active=False)``), in any process."""
    notify_user(user_pk, using, check=True)


def _token_credential(lookup: TokenLookup, key: str, pk: object) -> Credential:
    async def still_valid() -> bool:
        return names(await lookup(key), pk)

    return Credential("token", digest(key), still_valid)
