"""The consumers of the authentication tests, in process and on real servers: one open to
anyone, and one serving items to authenticated users only, with instance subscriptions."""

from __future__ import annotations

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import (
    AsyncAPIConsumer,
    IsAuthenticated,
    ModelConsumer,
    ObserveInstanceMixin,
    Response,
    action,
)


class Whoami(AsyncAPIConsumer):
    """Open to anyone: says who the connection's user is."""

    @action
    async def whoami(self) -> Response[str | None]:
        user = self.user
        return Response.ok(user.get_username() if user.is_authenticated else None)


class PrivateItems(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    """Items and their subscriptions, for authenticated users only."""

    permission_classes = (IsAuthenticated,)

    @action
    async def whoami(self) -> Response[str]:
        return Response.ok(self.user.get_username())
