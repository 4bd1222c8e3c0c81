"""Misuse of the public API that must fail type-checking, with mypy's and pyright's exact codes."""

# Each misuse sits on its own line with the exact error code of each checker. mypy runs with
# warn_unused_ignores and pyright with reportUnnecessaryTypeIgnoreComment, so a case fails CI as
# soon as the checker stops reporting it; tests/test_typing.py checks the bare file as well.

from __future__ import annotations

from typed_dcrf import AsyncAPIConsumer, IsAuthenticated, Response, action, db
from typed_dcrf.permissions import PermissionSpec
from typed_dcrf.testing import ApiClient


class Shop(AsyncAPIConsumer):
    @action
    async def price(self, pk: int, *, currency: str = "EUR") -> Response[float]:
        return Response.ok(1.5)

    @action
    def tax(self, pk: int) -> Response[float]:
        return Response.ok(0.2)

    async def helper(self, pk: int) -> Response[float]:
        return Response.ok(1.0)


class BadActions(AsyncAPIConsumer):
    # An action returns a Response: not a (data, status) tuple as in DCRF, nor bare data.
    @action  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    async def as_tuple(self) -> tuple[dict[str, int], int]:
        return {"pk": 1}, 201

    @action  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    async def as_dict(self) -> dict[str, int]:
        return {"pk": 1}

    @action(name="sync.dict")  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    def sync_dict(self) -> dict[str, int]:
        return {"pk": 1}

    @action
    async def wrong_data(self) -> Response[int]:
        return Response.ok("one")  # type: ignore[arg-type]  # pyright: ignore[reportReturnType]

    @action(nmae="typo")  # type: ignore[call-overload, untyped-decorator]  # pyright: ignore[reportCallIssue, reportUntypedFunctionDecorator]
    async def unknown_option(self) -> Response[int]:
        return Response.ok(1)


class BadPermissions(AsyncAPIConsumer):
    permission_classes = (int,)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


async def client_calls() -> None:
    async with ApiClient(Shop) as client:
        await client.call(Shop.price, pk="1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        await client.call(Shop.price, pk=1, curency="USD")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        await client.call(Shop.price)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        await client.call(Shop.price, 1, "USD")  # type: ignore[misc]  # pyright: ignore[reportCallIssue]
        await client.call(Shop.tax, pk=1.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        client.call(Shop.price, pk=1)  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]
        await client.call(Shop.helper, pk=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    ApiClient(Shop.price)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


async def instance_calls(shop: Shop) -> None:
    await shop.price(1, curency="USD")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await shop.price(pk="1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    shop.tax(pk=1, rate=0.1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    await shop.tax(1)  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    # A forgotten await: the bound action returns a coroutine, which both checkers flag.
    shop.price(1)  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]


async def database() -> None:
    await db.run(len, 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await db.run(len, [], key=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    db.run(len, [])  # type: ignore[unused-coroutine]  # pyright: ignore[reportUnusedCoroutine]


def responses(wide: Response[object]) -> Response[int]:
    wrong: Response[str] = Response.ok(1)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
    wrong.data = "a"  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
    return wide  # type: ignore[return-value]  # pyright: ignore[reportReturnType]


def permissions() -> PermissionSpec:
    return IsAuthenticated & int  # type: ignore[operator]  # pyright: ignore[reportOperatorIssue, reportUnknownVariableType]


class MisplacedOptions(AsyncAPIConsumer):
    @action(detached=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    def detached_sync(self) -> Response[int]:
        return Response.ok(1)

    @action(atomic=True)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    async def atomic_async(self) -> Response[int]:
        return Response.ok(1)
