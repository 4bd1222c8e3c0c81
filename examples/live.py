"""The README's observers: instance subscriptions checked by an owner-only permission, a live
query over one's own items, an observer of items by owner, a signal observer, and ``notify()``
after a bulk update."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.dispatch import Signal

from tests.app.models import Item
from tests.app.serializers import ItemSerializer
from typed_dcrf import (
    ActionContext,
    AsyncAPIConsumer,
    BasePermission,
    GroupKey,
    IsAuthenticated,
    ModelConsumer,
    ObserveInstanceMixin,
    ObserveListMixin,
    Response,
    action,
    notify,
    observe,
    observe_signal,
)


class OwnerOnly(BasePermission):
    def has_object_permission(
        self, context: ActionContext, consumer: AsyncAPIConsumer, obj: Item
    ) -> bool:
        return obj.owner_id == context.user.pk  # a fact the event carries: no query


class LiveItems(ObserveInstanceMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    """CRUD on one's own items, and subscriptions to them."""

    permission_classes = (IsAuthenticated, OwnerOnly)


class ItemList(ObserveListMixin[Item, ItemSerializer], ModelConsumer[Item, ItemSerializer]):
    """One's own items, live: ``subscribe_list`` takes ``list``'s filters."""

    permission_classes = (IsAuthenticated,)

    def get_queryset(self) -> QuerySet[Item]:
        return Item.objects.filter(owner_id=self.user.pk)

    def filter_list(self, queryset: QuerySet[Item], *, done: bool | None = None) -> QuerySet[Item]:
        return queryset if done is None else queryset.filter(done=done)


@dataclass
class ItemOut:
    id: int
    name: str
    done: bool


def item_out(item: Item) -> ItemOut:
    return ItemOut(item.pk, item.name, item.done)


def by_owner(item: Item) -> list[GroupKey]:
    return [("owner", item.owner_id or 0)]


@dataclass
class Announcement:
    text: str


announced = Signal()


def announcement(sender: object, text: str, **_: object) -> Announcement:
    return Announcement(text)


class Dashboard(AsyncAPIConsumer):
    """Each user follows their own items, and the announcements."""

    permission_classes = (IsAuthenticated,)
    items = observe(Item, item_out, groups=by_owner)
    news = observe_signal(announced, announcement, action="announcement")

    @action()
    async def follow_mine(self) -> Response[None]:
        await self.items.subscribe("owner", str(self.user.pk))  # this frame's request_id
        return Response.created(None)

    @action()
    async def follow_news(self) -> Response[None]:
        await self.news.subscribe()
        return Response.created(None)

    @action()
    async def unfollow(self) -> Response[bool]:
        """Sent with the request_id of the subscription it ends."""
        return Response.ok(await self.items.unsubscribe())


def finish_all(owner: AbstractBaseUser) -> list[int]:
    """Mark the owner's items done in one UPDATE, which sends no signal: notify() instead."""
    pks = list(Item.objects.filter(owner=owner.pk, done=False).values_list("pk", flat=True))
    Item.objects.filter(pk__in=pks).update(done=True)
    notify(Item, pks)
    return pks
