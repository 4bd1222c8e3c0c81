"""`@action` bare and with options: the descriptor on the class, the bound method on an instance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, assert_type

from typed_dcrf import Action, AsyncAction, AsyncAPIConsumer, Response, SyncAction, action


class Shop(AsyncAPIConsumer):
    @action
    async def ping(self) -> Response[None]:
        return Response.no_content()

    @action(name="shop.status", detached=True)
    async def status(self) -> Response[str]:
        return Response.ok("open")

    @action
    def count(self) -> Response[int]:
        return Response.ok(3)

    @action(name="shop.reset", atomic=True)
    def reset(self) -> Response[bool]:
        return Response.accepted(True)

    @action
    async def search(self, query: str, *, limit: int = 10) -> Response[list[str]]:
        return Response.ok([query] * limit)

    @action(name="shop.price", detached=False)
    async def price(self, pk: int, currency: str | None = None) -> Response[float]:
        return Response.ok(1.5)

    @action
    def tax(self, pk: int) -> Response[float]:
        return Response.ok(0.2)

    @action(atomic=False)
    def rename(self, pk: int, *, name: str) -> Response[str]:
        return Response.created(name)


# On the class: the descriptor, generic in the method's parameters and its data type. A type
# expression cannot name parameters, so the exact ParamSpec is pinned on parameterless actions;
# the named ones are pinned through calls below and in check_testing.py.
assert_type(Shop.ping, AsyncAction[[], None])
assert_type(Shop.status, AsyncAction[[], str])
assert_type(Shop.count, SyncAction[[], int])
assert_type(Shop.reset, SyncAction[[], bool])
assert_type(Shop.status.name, str)
assert_type(Shop.status.detached, bool)
assert_type(Shop.reset.atomic, bool | None)
as_action: Action[[], None] = Shop.ping
as_sync_action: Action[[], int] = Shop.count
search_action: AsyncAction[..., list[str]] = Shop.search
price_action: Action[..., float] = Shop.price
tax_action: SyncAction[..., float] = Shop.tax


class SearchMethod(Protocol):
    def __call__(self, query: str, *, limit: int = ...) -> Awaitable[Response[list[str]]]: ...


class RenameMethod(Protocol):
    def __call__(self, pk: int, *, name: str) -> Response[str]: ...


async def on_an_instance(shop: Shop) -> None:
    # On an instance: the bound method, with the real signature.
    assert_type(shop.ping, Callable[[], Coroutine[Any, Any, Response[None]]])
    assert_type(shop.status, Callable[[], Coroutine[Any, Any, Response[str]]])
    assert_type(shop.count, Callable[[], Response[int]])
    assert_type(shop.reset, Callable[[], Response[bool]])
    search: SearchMethod = shop.search  # names, keyword-only markers and defaults survive
    rename: RenameMethod = shop.rename
    assert_type(await search(query="lamp"), Response[list[str]])
    assert_type(rename(1, name="desk"), Response[str])

    assert_type(await shop.ping(), Response[None])
    assert_type(await shop.status(), Response[str])
    assert_type(shop.count(), Response[int])
    assert_type(shop.reset(), Response[bool])
    assert_type(await shop.search("lamp"), Response[list[str]])
    assert_type(await shop.search(query="lamp", limit=3), Response[list[str]])
    assert_type(await shop.price(1), Response[float])
    assert_type(await shop.price(pk=1, currency="EUR"), Response[float])
    assert_type(shop.tax(pk=1), Response[float])
    assert_type(shop.rename(pk=1, name="desk"), Response[str])
    assert_type((await shop.price(pk=1)).data, float)
    assert_type(shop.rename(1, name="desk").data, str)


class Outlet(Shop):
    """Overriding an action with the same signature type-checks (the owner is not a parameter)."""

    @action
    async def ping(self) -> Response[None]:
        return Response.no_content()

    @action
    async def search(self, query: str, *, limit: int = 5) -> Response[list[str]]:
        return Response.ok([])


assert_type(Outlet.ping, AsyncAction[[], None])


class Kiosk(Shop):
    """Redefining an action with another signature: mypy accepts it; pyright needs the ignore,
    since a ParamSpec is invariant and `Action[P, R]` cannot declare it otherwise."""

    @action
    async def search(  # pyright: ignore[reportIncompatibleVariableOverride]
        self, query: str, *, limit: int = 10, exact: bool = False
    ) -> Response[list[str]]:
        return Response.ok([query] if exact else [])

    @action
    def tax(self, pk: int, region: str = "EU") -> Response[float]:  # pyright: ignore[reportIncompatibleVariableOverride]
        return Response.ok(0.2)


class KioskSearch(Protocol):
    def __call__(
        self, query: str, *, limit: int = ..., exact: bool = ...
    ) -> Awaitable[Response[list[str]]]: ...


async def on_a_kiosk(kiosk: Kiosk) -> None:
    search: KioskSearch = kiosk.search
    assert_type(await search("lamp", exact=True), Response[list[str]])
    assert_type(kiosk.tax(1, "US"), Response[float])
