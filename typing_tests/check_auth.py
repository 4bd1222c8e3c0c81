"""`typed_dcrf.auth`: the stacks wrap channels' applications and go where channels takes one;
a token lookup is any async function from a key to a user."""

from __future__ import annotations

from typing import assert_type

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from tests.server.auth_consumers import Whoami
from typed_dcrf import TokenAuthMiddleware, TokenAuthMiddlewareStack
from typed_dcrf.auth import ChannelsApp, TokenLookup, check_access, drf_token_user, token_in


async def by_api_key(key: str) -> AbstractBaseUser | AnonymousUser:
    return AnonymousUser()


async def lookups() -> None:
    assert_type(await drf_token_user("key"), AbstractBaseUser | AnonymousUser)
    lookup: TokenLookup = by_api_key
    assert_type(await lookup("key"), AbstractBaseUser | AnonymousUser)
    _ = lookup


def stacks() -> ProtocolTypeRouter:
    consumer = Whoami.as_asgi()
    assert_type(TokenAuthMiddlewareStack(consumer), ChannelsApp)
    router = URLRouter([])  # routes as channels types them (django-stubs type path() for views)
    stack = TokenAuthMiddlewareStack(router)
    checked = AllowedHostsOriginValidator(stack)
    assert_type(checked, OriginValidator)
    middleware = TokenAuthMiddleware(router, lookup=by_api_key)
    assert_type(middleware.lookup, TokenLookup)
    return ProtocolTypeRouter({"websocket": checked, "other": TokenAuthMiddleware(consumer)})


def reading(scope: dict[str, object]) -> None:
    assert_type(token_in(scope), tuple[str, bool] | None)
    assert_type(check_access(1, using="default"), None)
