"""List subscriptions (live queries): a filtered list's rows now, then every change to the set.

``subscribe_list {filters...}`` takes the list's filter arguments. It joins the list's group
first, then sends the rows as 206 pages (``{"results", "count", "limit", "offset"}``, by primary
key), then its 201 reply ``{"count", "seq", "key", "resumed"}``; from then on each change of the
set arrives with the subscription's request_id: a row that starts matching as ``create``, one
that changes as ``update``, one that stops matching or is deleted as ``delete`` with ``{"pk"}``.
``seq: true`` adds each event's version as ``"seq"``; ``since: <seq>`` resumes a subscription.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, cast

from annotated_types import Gt
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db.models import Model, QuerySet

from typed_dcrf import _envelope, db
from typed_dcrf._access import LOST, revoked
from typed_dcrf._changelog import changelog
from typed_dcrf._checks import OBJECT, Subject, evaluate_sync
from typed_dcrf._live import READ_ALL, LiveQuery, LiveSet
from typed_dcrf._matching import compile_filter
from typed_dcrf._observed import EventData, ObservedModelConsumer
from typed_dcrf._subscriptions import Subscription
from typed_dcrf.actions import action
from typed_dcrf.conf import get_settings
from typed_dcrf.exceptions import Gone, NotAuthenticated, NotFound, ParseError
from typed_dcrf.generics import M, S
from typed_dcrf.observers import Facts, ModelObserver
from typed_dcrf.responses import Response
from typed_dcrf.streaming import PARTIAL_CONTENT

RESUME_OVERLAP = 2_000_000
"""How far before a resuming client's ``since`` (in versions: microseconds) the changes are sent
again, for events that other processes sent late."""


@dataclass(frozen=True, slots=True)
class ListSubscribed:
    """The reply to ``subscribe_list``, after the snapshot's pages."""

    count: int
    """Rows sent in the snapshot (or, on a resume, rows sent again)."""
    seq: int
    """The version the client's copy is at: give it as ``since`` to resume."""
    key: str
    """The field of a row's data that holds its primary key (deletes send ``{"pk": ...}``)."""
    resumed: bool
    """Whether this continued an earlier subscription (``since``) rather than sending the set."""


PageSize = Annotated[int, Gt(0)]


class ObserveListMixin(ObservedModelConsumer[M, S]):
    """``subscribe_list`` / ``unsubscribe_list``: live queries over the consumer's filtered list.

    An event is matched to each subscription in memory when the filtered queryset's WHERE can be
    evaluated on the row (comparisons of the model's own fields); otherwise one query per event
    answers for every subscription of the process. The object permissions are checked on every
    row sent, in memory: a row they refuse is not in the set.
    """

    list_observer: ClassVar[ModelObserver[Any, EventData]]
    """Sends this class's list events: its ``model_observer``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "model_observer"):
            cls.list_observer = cls.model_observer

    @action(method="GET", detached=True)
    async def subscribe_list(
        self,
        /,
        *,
        seq: bool = False,
        since: int | None = None,
        page_size: PageSize | None = None,
        **filters: object,
    ) -> Response[ListSubscribed]:
        """Send the filtered list, then its changes, with this frame's request_id (``seq``: each
        event with its version; ``since``: resume from that version, 410 when it is no longer
        kept; ``page_size``: rows per snapshot page)."""
        context = self.context
        if context.request_id is None:
            raise ParseError("subscribe_list needs a request_id: its events carry it.")
        observer = self.list_observer
        queryset, sql = await db.run(self._live_queryset)
        live = LiveQuery(queryset, compile_filter(queryset), sql, seq)
        group = observer.list_group(queryset.db)
        subscription = Subscription(context.request_id, group, observer, context, live=live)
        await self.subscriptions.add(subscription, limit=get_settings().max_subscriptions)
        try:  # the group is joined: every change from now on waits in `live.waiting`
            if since is None:
                count, version = await self._send_snapshot(subscription, page_size)
            else:
                count, version = await db.run(self._resume, live, since)
                self._still_subscribed(subscription)
        except BaseException:
            await self.subscriptions.end(subscription)
            raise
        context.after_reply.append(
            lambda: self.subscriptions.caught_up(subscription, self._permissions)
        )
        key = self._pk_name()
        return Response.created(ListSubscribed(count, version, key, since is not None))

    @action(method="GET")
    async def unsubscribe_list(self) -> Response[None]:
        """End this frame's request_id's list subscription (204; 404 if it has none)."""
        request_id = self.context.request_id
        if await self.subscriptions.remove(request_id, self.list_observer, live=True) is None:
            raise NotFound("No subscription has this request_id.")
        return Response.no_content()

    @classmethod
    def _pk_name(cls) -> str:
        # django-stubs type the primary key as a Field of unknown value types.
        return str(cls.model._meta.pk.name)  # pyright: ignore[reportUnknownMemberType]

    def _live_queryset(self) -> tuple[QuerySet[M], str]:
        """The subscription's set, and its SQL as the key of the subscriptions that share it."""
        queryset = self.filter_queryset(self.get_queryset())
        if queryset.query.combinator or queryset.query.is_sliced:
            msg = (
                f"{type(self).__qualname__}: a list subscription's queryset must be one that can "
                f"be filtered: not a union, intersection, difference or slice."
            )
            raise ImproperlyConfigured(msg)
        try:
            # django-stubs leave the parameters' type unknown.
            compiled: tuple[str, tuple[object, ...]] = queryset.query.sql_with_params()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        except EmptyResultSet:  # `.none()`, `pk__in=[]`: a set that is always empty
            compiled = ("", ())
        sql, parameters = compiled
        return queryset, f"{queryset.db} {sql} {parameters!r}"

    def _still_subscribed(self, subscription: Subscription) -> None:
        """``NotFound`` if ``subscription`` was ended (``unsubscribe_list``) while it was set up;
        ``NotAuthenticated`` if the connection lost its access meanwhile (which ended it)."""
        if self.subscriptions.by_request.get(subscription.key) is not subscription:
            if revoked(subscription.context.user, self.scope):
                raise NotAuthenticated(LOST)
            raise NotFound("The subscription was ended before its snapshot was sent.")

    async def _send_snapshot(
        self, subscription: Subscription, page_size: int | None
    ) -> tuple[int, int]:
        """Send the set page by page, each page read after taking its version; the rows sent
        and the first page's version."""
        context = self.context
        live = cast("LiveQuery", subscription.live)
        size = self.pagination_class().limit(page_size)
        sent, after, floor, total = 0, None, 0, 0
        while True:
            version, rows, after, count = await db.run(self._snapshot_page, live, after, size)
            self._still_subscribed(subscription)
            if not floor:
                floor, total = version, count
                live.rows.floor = version
            page = (
                f'{{"results":[{",".join(rows)}],"count":{total},"limit":{size},"offset":{sent}}}'
            )
            await self.send_envelope(
                _envelope.success(context.action, context.request_id, PARTIAL_CONTENT, page)
            )
            sent += len(rows)
            live.read_through = READ_ALL if after is None else after
            if after is None:
                return sent, floor

    def _snapshot_page(
        self, live: LiveQuery, after: object, size: int
    ) -> tuple[int, list[str], object, int]:
        """A version, then the next ``size`` rows after the key ``after``: those the subscriber
        may see, serialized; the key to continue after (``None`` at the end); the size of the
        set (on the first page)."""
        if after is None:
            self._keep_log(live)
        version = changelog().next_version()
        queryset = live.queryset.order_by("pk")
        if after is not None:
            queryset = queryset.filter(pk__gt=after)
        observer = self.list_observer
        read = list(queryset[:size])
        visible = [row for row in read if self._may_see(row)]
        rows = self._rows_json(visible)
        for row, data in zip(visible, rows, strict=True):
            live.rows.hold(observer.row_key(row.pk), version, hash(data))
        following = read[-1].pk if len(read) == size else None
        return version, rows, following, live.queryset.count() if after is None else 0

    def _keep_log(self, live: LiveQuery) -> str:
        """Keep the log of the subscription's list from now on (once it is listened to); its
        name."""
        observer = self.list_observer
        log = observer.list_group(live.queryset.db)
        if observer.log_size:
            changelog().keep(log)
        return log

    def _may_see(self, row: Model) -> bool:
        """Whether the object permissions let the subscriber see ``row``."""
        if self._permissions is None:
            return True
        subject = Subject(self, self.context, "GET", obj=row)
        return evaluate_sync(self._permissions, OBJECT, subject).allowed

    def _resume(self, live: LiveQuery, since: int) -> tuple[int, int]:
        """Queue the current state of every row changed after ``since`` (less the overlap), read
        at once; the rows queued and the version of that read. ``Gone`` when the log no longer
        holds every change since then."""
        start = max(since - RESUME_OVERLAP, 0)
        observer = self.list_observer
        log = self._keep_log(live)
        entries = changelog().since(log, since, RESUME_OVERLAP) if observer.log_size else None
        if entries is None:
            msg = f"The changes since seq {since} are gone: subscribe again without since."
            raise Gone(msg)
        # The rows changed, and whether they were made after `since` (the client cannot hold
        # them; a row made within the overlap may be held, and is sent as an update); the facts
        # of each one's last state, for the permissions of a delete.
        created: dict[str, bool] = {}
        last_facts: dict[str, Facts] = {}
        for entry in entries:
            key = json.dumps(entry["pk"])
            made = entry["action"] == "create" and cast("int", entry["version"]) > since
            created.setdefault(key, made)
            last_facts[key] = cast("Facts", entry["facts"])
        version = changelog().next_version()
        live.rows = LiveSet(floor=start, knows_all=False)
        found = {
            observer.row_key(row.pk): row
            for row in live.queryset.filter(pk__in=[json.loads(key) for key in created])
            if self._may_see(row)
        }
        dumped = dict(zip(found, self._rows_json(list(found.values())), strict=True))
        for key, made in created.items():
            data = dumped.get(key)
            if data is None:
                live.rows.apply(key, version, False, None)
                if self._may_see(observer.shadow(last_facts[key])):  # never name a hidden row
                    live.resent.append(("delete", f'{{"pk":{key}}}', version))
            else:
                live.rows.hold(key, version, hash(data))
                live.resent.append(("create" if made else "update", data, version))
        return len(created), version
