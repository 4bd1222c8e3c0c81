"""List subscriptions: 1,000 over 10 filters on one process, and one update of one row.

Each contender has a table of its own, 100 rows (``rank`` 0-9, ten rows of each), and 1,000
list subscriptions over 10 filters, ``min_rank`` 0-9 (the rows of ``rank >= min_rank``), held
by 100 in-process ``WebsocketCommunicator``s, one subscription of each filter on every one
(``--connections``). One save of one row is timed until the last subscription that should hear
of it has its frame, which is then checked: the row of rank 9 renamed (an update in every set),
and moved between rank 9 and 4 (an update in the sets of ``min_rank`` 0-4, a delete from or a
create in those of 5-9); either way every subscription gets one frame. Rounds are interleaved
between the contenders, over the in-memory layer or Redis. The floor is a bare consumer: the
saving code serializes the row once and ``group_send``s it with the field the filters read;
each consumer tests its subscriptions' predicates and keeps the keys of the rows each client
holds. DCRF has no list subscriptions: its contender is what its users write, a
``@model_observer`` of the model and the same test in the handler. The time the 1,000
subscriptions take (their snapshots) is reported too.
Run from the repository root: ``python benchmarks/lists.py`` (set-up: benchmarks/README.md).
"""

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from echo import configure_django, versions
from fanout import LAYERS, envelope, medians, redis_reachable

TYPED = "typed_dcrf"
DCRF = "DCRF 1.3.0"
BARE = "bare, matching in memory"
BARE_NO_HOP = "bare, no per-message DB hop"
CONTENDERS = (BARE, BARE_NO_HOP, DCRF, TYPED)
SUBSCRIPTIONS = 1000
FILTERS = 10
"""``min_rank`` 0 to 9."""
ROWS = 100
ROW = 100
"""The row changed: rank 9, in every set."""
RENAME = "update in every set"
MOVE = "moves across sets"
CASES = (RENAME, MOVE)
STATUS = {"create": 200, "update": 200, "delete": 204}

Expected = dict[int, str]
"""A connection's frames of one change: the action by request_id."""


@dataclass(eq=False)
class Contender:
    """One contender's consumer app, its save, its connections and the state of its row."""

    name: str
    app: Any
    save: Callable[[str, int], None]
    clients: list[Any] = field(default_factory=list)
    filters: list[list[tuple[int, int]]] = field(default_factory=list)
    """By connection: ``(request_id, min_rank)`` of each subscription."""
    rank: int = 9


@database_sync_to_async
def create_tables() -> None:
    """The tables and their rows, in the database thread (its in-memory database)."""
    from bench_app.models import BareListRow, DCRFListRow, NoHopListRow, TypedListRow
    from django.db import connection

    tables: list[Any] = [BareListRow, NoHopListRow, DCRFListRow, TypedListRow]
    for model in tables:
        with connection.schema_editor() as editor:
            editor.create_model(model)
        model.objects.bulk_create(
            model(pk=pk, name=f"row {pk}", rank=(pk - 1) % FILTERS) for pk in range(1, ROWS + 1)
        )


def snapshot(model: Any, serializer: Any, min_rank: int) -> list[dict[str, Any]]:
    """The rows of ``min_rank`` and above, serialized (the bare and DCRF subscribe actions)."""
    rows = model.objects.filter(rank__gte=min_rank).order_by("pk")
    return list(serializer(rows, many=True).data)


def build() -> list[Contender]:
    """The contenders: each one's consumer app and the save of its row."""
    from bench_app.models import BareListRow, DCRFListRow, NoHopListRow, TypedListRow
    from bench_app.serializers import (
        BareListRowSerializer,
        DCRFListRowSerializer,
        NoHopListRowSerializer,
        TypedListRowSerializer,
    )
    from channels.consumer import get_handler_name
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from channels.layers import get_channel_layer
    from django.db.models import QuerySet

    # DCRF ships no type information (and the project's own venv does not install it).
    from djangochannelsrestframework.decorators import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        action as dcrf_action,
    )
    from djangochannelsrestframework.generics import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        GenericAsyncAPIConsumer,
    )
    from djangochannelsrestframework.observer import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        model_observer,
    )

    from typed_dcrf import ObserveListMixin, ReadOnlyModelConsumer

    class Bare(AsyncJsonWebsocketConsumer):
        """List subscriptions by hand: each holds its filter, a predicate on the fields the
        saving code sends, and the keys of the rows its client has."""

        group = "bare-lists"
        model: Any = BareListRow
        serializer: Any = BareListRowSerializer

        async def connect(self) -> None:
            self.lists: dict[Any, tuple[Callable[[dict[str, Any]], bool], set[Any]]] = {}
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.accept()

        async def receive_json(self, content: Any, **kwargs: Any) -> None:
            request_id, min_rank = content["request_id"], content["min_rank"]
            rows = await database_sync_to_async(snapshot)(self.model, self.serializer, min_rank)
            held = {row["id"] for row in rows}
            self.lists[request_id] = (lambda fields: fields["rank"] >= min_rank, held)
            await self.send_json(envelope("subscribe_list", 201, request_id, rows))

        async def rows_changed(self, message: dict[str, Any]) -> None:
            pk, fields = message["pk"], message["fields"]
            for request_id, (test, held) in self.lists.items():
                if test(fields):
                    action, data = ("update" if pk in held else "create"), message["data"]
                    held.add(pk)
                elif pk in held:
                    action, data = "delete", {"pk": pk}
                    held.discard(pk)
                else:
                    continue
                await self.send_json(envelope(action, STATUS[action], request_id, data))

    class BareNoHop(Bare):
        """The same, dispatching without channels' per-message ``aclose_old_connections``."""

        group = "bare-lists-no-hop"
        model = NoHopListRow
        serializer = NoHopListRowSerializer

        async def dispatch(self, message: dict[str, Any]) -> None:
            await getattr(self, get_handler_name(message))(message)

    def bare_saver(consumer: type[Bare]) -> Callable[[str, int], None]:
        def save(name: str, rank: int) -> None:
            row = consumer.model.objects.get(pk=ROW)
            row.name, row.rank = name, rank
            row.save()
            data = consumer.serializer(row).data
            message = {"type": "rows.changed", "pk": row.pk, "data": data, "fields": {"rank": rank}}
            async_to_sync(get_channel_layer().group_send)(consumer.group, message)  # type: ignore[union-attr]

        return save

    class DCRFLists(GenericAsyncAPIConsumer):  # type: ignore[misc]
        """DCRF's way: ``@model_observer`` of the model (one group for all its changes), each
        consumer filtering in the handler, by the serialized row, for each request_id it
        subscribed, and keeping the keys of the rows each client has."""

        queryset = DCRFListRow.objects.all()
        serializer_class = DCRFListRowSerializer

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.lists: dict[Any, tuple[int, set[Any]]] = {}

        @dcrf_action()  # type: ignore[untyped-decorator]
        async def subscribe_list(
            self, request_id: Any, min_rank: int, **kwargs: Any
        ) -> tuple[list[dict[str, Any]], int]:
            await self.list_rows.subscribe(request_id=request_id)
            rows = await database_sync_to_async(snapshot)(
                DCRFListRow, DCRFListRowSerializer, min_rank
            )
            self.lists[request_id] = (min_rank, {row["id"] for row in rows})
            return rows, 201

        @model_observer(DCRFListRow, serializer_class=DCRFListRowSerializer)  # type: ignore[untyped-decorator]
        async def list_rows(
            self,
            message: dict[str, Any],
            action: str,
            subscribing_request_ids: list[Any],
            **kwargs: Any,
        ) -> None:
            pk = message["id"]
            for request_id in subscribing_request_ids:
                min_rank, held = self.lists[request_id]
                if action != "delete" and message["rank"] >= min_rank:
                    sent, data = ("update" if pk in held else "create"), message
                    held.add(pk)
                elif pk in held:
                    sent, data = "delete", {"pk": pk}
                    held.discard(pk)
                else:
                    continue
                await self.reply(action=sent, data=data, status=STATUS[sent], request_id=request_id)

    def dcrf_save(name: str, rank: int) -> None:
        row = DCRFListRow.objects.get(pk=ROW)
        row.name, row.rank = name, rank
        row.save()

    class TypedLists(
        ObserveListMixin[TypedListRow, TypedListRowSerializer],
        ReadOnlyModelConsumer[TypedListRow, TypedListRowSerializer],
    ):
        def filter_list(
            self, queryset: QuerySet[TypedListRow], *, min_rank: int | None = None
        ) -> QuerySet[TypedListRow]:
            return queryset if min_rank is None else queryset.filter(rank__gte=min_rank)

    def typed_save(name: str, rank: int) -> None:
        row = TypedListRow.objects.get(pk=ROW)
        row.name, row.rank = name, rank
        row.save()

    return [
        Contender(BARE, Bare.as_asgi(), bare_saver(Bare)),
        Contender(BARE_NO_HOP, BareNoHop.as_asgi(), bare_saver(BareNoHop)),
        Contender(DCRF, DCRFLists.as_asgi(), dcrf_save),
        Contender(TYPED, TypedLists.as_asgi(), typed_save),
    ]


async def subscribe(contender: Contender, connections: int) -> None:
    """``connections`` connections, holding the 1,000 subscriptions between them; each
    subscription's snapshot is counted."""
    from channels.testing.websocket import WebsocketCommunicator

    per_connection = SUBSCRIPTIONS // connections
    for number in range(connections):
        client = WebsocketCommunicator(contender.app, "/ws/")
        connected, _ = await client.connect()
        if not connected:
            raise RuntimeError(f"{contender.name}: the handshake was refused")
        filters = []
        for request_id in range(number * per_connection, (number + 1) * per_connection):
            min_rank = request_id % FILTERS
            frame = {"action": "subscribe_list", "request_id": request_id, "min_rank": min_rank}
            await client.send_json_to(frame)
            rows = 0
            while (reply := await client.receive_json_from(10))["response_status"] == 206:
                rows += len(reply["data"]["results"])
            if reply["response_status"] != 201 or reply["request_id"] != request_id:
                raise RuntimeError(f"{contender.name}: subscribing failed: {reply!r}")
            rows += len(reply["data"]) if isinstance(reply["data"], list) else 0
            if rows != (FILTERS - min_rank) * ROWS // FILTERS:
                raise RuntimeError(f"{contender.name}: a snapshot of {rows} rows, {min_rank=}")
            filters.append((request_id, min_rank))
        contender.clients.append(client)
        contender.filters.append(filters)


def outcome(min_rank: int, old: int, new: int) -> str | None:
    """What a subscription of ``min_rank`` is sent when the row's rank goes from old to new."""
    if new >= min_rank:
        return "update" if old >= min_rank else "create"
    return "delete" if old >= min_rank else None


async def one_update(contender: Contender, name: str, rank: int) -> float:
    """Seconds from the save until every subscription that should hear of it has its frame;
    the frames are then checked."""
    expected: list[Expected] = []
    for filters in contender.filters:
        actions = {rid: outcome(low, contender.rank, rank) for rid, low in filters}
        expected.append({rid: action for rid, action in actions.items() if action is not None})

    async def frames(client: Any, count: int) -> list[dict[str, Any]]:
        return [await client.receive_json_from(30) for _ in range(count)]

    started = time.perf_counter()
    await database_sync_to_async(contender.save)(name, rank)
    received = await asyncio.gather(
        *(frames(client, len(e)) for client, e in zip(contender.clients, expected, strict=True))
    )
    elapsed = time.perf_counter() - started
    contender.rank = rank
    for wanted, got in zip(expected, received, strict=True):
        by_request = {frame["request_id"]: frame for frame in got}
        if len(by_request) != len(got) or set(by_request) != set(wanted):
            raise RuntimeError(f"{contender.name}: frames for {sorted(by_request)}")
        for request_id, action in wanted.items():
            frame = by_request[request_id]
            data: dict[str, Any] = {"id": ROW, "name": name, "rank": rank}
            if action == "delete":
                data = {"pk": ROW}
            if frame != envelope(action, STATUS[action], request_id, data):
                raise RuntimeError(f"{contender.name}: unexpected event {frame!r}")
    return elapsed


def change(case: str, rank: int) -> int:
    """The row's next rank: the same for the rename, the other one for the move."""
    return rank if case == RENAME else 4 if rank == 9 else 9


async def quiet(contender: Contender) -> None:
    """No frame is left over on any connection."""
    idle = await asyncio.gather(*(client.receive_nothing(0.2) for client in contender.clients))
    if not all(idle):
        raise RuntimeError(f"{contender.name}: frames nobody expected")


async def measure(
    contenders: list[Contender], rounds: int, updates: int
) -> dict[str, dict[str, list[list[float]]]]:
    """By case and contender: the seconds of every timed update, by round (each round a
    rename and a move of every contender's row, ``updates`` times, in a rotated order)."""
    for contender in contenders:
        for number, case in enumerate((RENAME, MOVE, MOVE)):
            await one_update(contender, f"warm-up {number}", change(case, contender.rank))
        await quiet(contender)
    samples: dict[str, dict[str, list[list[float]]]] = {
        case: {contender.name: [] for contender in contenders} for case in CASES
    }
    for number in range(rounds):
        shift = number % len(contenders)
        order = contenders[shift:] + contenders[:shift]
        gc.collect()
        for case in CASES:
            timed: dict[str, list[float]] = {contender.name: [] for contender in order}
            for update in range(updates):
                for contender in order:
                    rank = change(case, contender.rank)
                    seconds = await one_update(contender, f"r{number}u{update}", rank)
                    timed[contender.name].append(seconds)
            for contender in order:  # back in every set before the next rename
                if contender.rank != 9:
                    await one_update(contender, f"r{number} back", 9)
            for name, by_update in timed.items():
                samples[case][name].append(by_update)
    for contender in contenders:
        await quiet(contender)
    return samples


async def run(args: argparse.Namespace) -> dict[str, Any]:
    await create_tables()
    contenders = build()
    subscribing = {}
    for contender in contenders:
        started = time.perf_counter()
        await subscribe(contender, args.connections)
        subscribing[contender.name] = time.perf_counter() - started
    # Everything made so far lives to the end: out of the collector's way, so that a full
    # collection (it walks every object tracked) does not land in some update and not others.
    gc.collect()
    gc.freeze()
    samples = await measure(contenders, args.rounds, args.updates)
    for contender in contenders:
        for client in contender.clients:
            await client.disconnect()
    return {
        "connections": args.connections,
        "subscriptions": SUBSCRIPTIONS,
        "subscribing_s": subscribing,
        "cases": {case: medians(by_name) for case, by_name in samples.items()},
    }


async def forget_redis_keys(prefix: str) -> None:
    """Delete this run's keys (the layer's and typed_dcrf's change log) from Redis."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379")
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def report(layer: str, result: dict[str, Any]) -> None:
    print(
        f"== {layer} layer, {result['subscriptions']} subscriptions on"
        f" {result['connections']} connections: ms until the last one has its frame"
        " (median; rounds)"
    )
    for case, rows in result["cases"].items():
        bare = rows[BARE]["median_ms"]
        for name in CONTENDERS:
            row = rows[name]
            low, high = min(row["rounds_ms"]), max(row["rounds_ms"])
            print(
                f"{case:<20} {name:<28} {row['median_ms']:>8.2f}  {low:>7.2f}-{high:<7.2f}"
                f"  x bare {row['median_ms'] / bare:.2f}"
            )
        typed = rows[TYPED]["median_ms"]
        print(
            f"{case:<20} typed_dcrf / bare {typed / bare:.2f},"
            f" / bare without the hop {typed / rows[BARE_NO_HOP]['median_ms']:.2f},"
            f" / DCRF {typed / rows[DCRF]['median_ms']:.2f}"
        )
    print(
        "s to subscribe (snapshots included): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in result["subscribing_s"].items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--layer", choices=["memory", "redis"], default="memory")
    parser.add_argument(
        "--connections", type=int, default=100, help="connections holding the subscriptions"
    )
    parser.add_argument("--rounds", type=int, default=15, help="rounds over every contender")
    parser.add_argument("--updates", type=int, default=4, help="timed updates per case and round")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args()
    if min(args.rounds, args.updates) < 1:
        parser.error("--rounds and --updates must be at least 1")
    if args.connections < 10 or SUBSCRIPTIONS % args.connections:
        # At most 100 subscriptions a connection: typed_dcrf's MAX_SUBSCRIPTIONS.
        parser.error(f"--connections must divide {SUBSCRIPTIONS} and be at least 10")
    if args.layer == "redis" and not redis_reachable():
        parser.error("no Redis on 127.0.0.1:6379")
    configure_django("typed_dcrf", "bench_app", CHANNEL_LAYERS={"default": LAYERS[args.layer]})
    started = time.perf_counter()
    result = asyncio.run(run(args))
    if args.layer == "redis":
        layer: dict[str, Any] = LAYERS["redis"]
        asyncio.run(forget_redis_keys(layer["CONFIG"]["prefix"]))
    print(
        f"{args.rounds} rounds x {args.updates} updates per case,"
        f" {time.perf_counter() - started:.1f} s"
    )
    print(
        ", ".join(
            f"{name} {number}" for name, number in versions("channels-redis", "redis").items()
        )
    )
    report(args.layer, result)
    if args.json:
        args.json.write_text(json.dumps({"layer": args.layer, **result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
