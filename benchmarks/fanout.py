"""Fan-out of one update to N subscribers: typed_dcrf, DCRF 1.3.0 and a bare channels consumer.

Each contender's N subscribers (in-process ``WebsocketCommunicator``s) watch one row of a table
of its own; one save of the row is timed until the last subscriber has its update frame, over
the in-memory layer and over Redis, in rounds interleaved between the contenders. The bare
consumer does the least that work can be done with: the saving code serializes the row once and
``group_send``s the data, and each consumer sends it on (on channels' own dispatch, and without
its per-message DB-thread hop, as typed_dcrf dispatches). Also measured: listing 100 rows of a
model that typed_dcrf observes, against the same list of one it does not (observers add no
``post_init`` hook to loading rows).
Run from the repository root: ``python benchmarks/fanout.py`` (set-up: benchmarks/README.md).
"""

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from echo import configure_django, versions

TYPED = "typed_dcrf"
DCRF = "DCRF 1.3.0"
BARE = "bare, serializing once"
BARE_NO_HOP = "bare, no per-message DB hop"
CONTENDERS = (BARE, BARE_NO_HOP, DCRF, TYPED)
LAYERS = {
    "memory": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}},
    "redis": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": "redis://127.0.0.1:6379", "socket_timeout": None}],
            "prefix": f"typed_dcrf_bench_{os.getpid()}",
            "capacity": 1000,
        },
    },
}
ROWS = 100


@database_sync_to_async
def create_tables() -> None:
    """The tables and their rows, in the database thread (its in-memory database)."""
    from bench_app.models import BareRow, DCRFRow, Item, ObservedItem, TypedRow
    from django.db import connection

    with connection.schema_editor() as editor:
        for model in (BareRow, DCRFRow, TypedRow, Item, ObservedItem):
            editor.create_model(model)
    for model in (BareRow, DCRFRow, TypedRow):
        model.objects.create(pk=1, name="row")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    fields = [{"name": f"item {n}", "quantity": n, "active": n % 2 == 0} for n in range(ROWS)]
    Item.objects.bulk_create(Item(**row, created=start) for row in fields)
    ObservedItem.objects.bulk_create(ObservedItem(**row, created=start) for row in fields)


def build() -> dict[str, Any]:
    """The contenders: each one's consumer app, the frame a subscriber sends, and the save."""
    from bench_app.models import BareRow, DCRFRow, Item, ObservedItem, TypedRow
    from bench_app.serializers import (
        BareRowSerializer,
        DCRFRowSerializer,
        ItemSerializer,
        ObservedItemSerializer,
        TypedRowSerializer,
    )
    from channels.consumer import get_handler_name
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from channels.layers import get_channel_layer

    # DCRF ships no type information (and the project's own venv does not install it).
    from djangochannelsrestframework.generics import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        GenericAsyncAPIConsumer,
    )
    from djangochannelsrestframework.observer.generics import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        ObserverModelInstanceMixin,
    )

    from typed_dcrf import ObserveInstanceMixin, ReadOnlyModelConsumer

    class Bare(AsyncJsonWebsocketConsumer):
        """Joins the row's group on subscribe; sends on whatever the group receives."""

        group = "bare-row-1"

        async def receive_json(self, content: Any, **kwargs: Any) -> None:
            self.request_id = content["request_id"]
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.send_json(envelope("subscribe", 201, self.request_id, None))

        async def row_changed(self, message: dict[str, Any]) -> None:
            await self.send_json(envelope("update", 200, self.request_id, message["data"]))

    class BareNoHop(Bare):
        """The same, dispatching without channels' per-message ``aclose_old_connections``."""

        group = "bare-no-hop-row-1"

        async def dispatch(self, message: dict[str, Any]) -> None:
            await getattr(self, get_handler_name(message))(message)

    def bare_saver(group: str) -> Any:
        def save(name: str) -> None:
            row = BareRow.objects.get(pk=1)
            row.name = name
            row.save()
            data = BareRowSerializer(row).data
            async_to_sync(get_channel_layer().group_send)(  # type: ignore[union-attr]
                group, {"type": "row.changed", "data": data}
            )

        return save

    class DCRFRows(ObserverModelInstanceMixin, GenericAsyncAPIConsumer):  # type: ignore[misc]
        queryset = DCRFRow.objects.all()
        serializer_class = DCRFRowSerializer

    class TypedRows(
        ObserveInstanceMixin[TypedRow, TypedRowSerializer],
        ReadOnlyModelConsumer[TypedRow, TypedRowSerializer],
    ):
        pass

    class PlainList(ReadOnlyModelConsumer[Item, ItemSerializer]):
        pass

    class ObservedList(
        ObserveInstanceMixin[ObservedItem, ObservedItemSerializer],
        ReadOnlyModelConsumer[ObservedItem, ObservedItemSerializer],
    ):
        pass

    def saver(model: type[DCRFRow | TypedRow]) -> Any:
        def save(name: str) -> None:
            row = model.objects.get(pk=1)
            row.name = name
            row.save()

        return save

    subscribe = {"action": "subscribe_instance", "pk": 1}
    return {
        "fanout": {
            BARE: (Bare.as_asgi(), {"action": "subscribe"}, bare_saver(Bare.group)),
            BARE_NO_HOP: (
                BareNoHop.as_asgi(),
                {"action": "subscribe"},
                bare_saver(BareNoHop.group),
            ),
            DCRF: (DCRFRows.as_asgi(), subscribe, saver(DCRFRow)),
            TYPED: (TypedRows.as_asgi(), subscribe, saver(TypedRow)),
        },
        "list": {"not observed": PlainList.as_asgi(), "observed": ObservedList.as_asgi()},
    }


def envelope(action: str, status: int, request_id: Any, data: Any) -> dict[str, Any]:
    return {
        "errors": [],
        "data": data,
        "action": action,
        "response_status": status,
        "request_id": request_id,
    }


async def subscribers(app: Any, frame: dict[str, Any], count: int) -> list[Any]:
    """``count`` connections to ``app``, each subscribed with its own request_id."""
    from channels.testing.websocket import WebsocketCommunicator

    clients = []
    for number in range(count):
        client = WebsocketCommunicator(app, "/ws/")
        connected, _ = await client.connect()
        await client.send_json_to({**frame, "request_id": number})
        ack = await client.receive_json_from(5)
        if not connected or ack["response_status"] != 201:
            raise RuntimeError(f"subscribing failed: {ack!r}")
        clients.append(client)
    return clients


async def one_update(clients: list[Any], save: Any, name: str) -> float:
    """Seconds from the save until the last subscriber has the update, which is checked."""
    started = time.perf_counter()
    await database_sync_to_async(save)(name)
    frames = await asyncio.gather(*(client.receive_json_from(30) for client in clients))
    elapsed = time.perf_counter() - started
    for number, frame in enumerate(frames):
        if (frame["action"], frame["request_id"], frame["data"]["name"]) != (
            "update",
            number,
            name,
        ):
            raise RuntimeError(f"unexpected event {frame!r}")
    return elapsed


async def fanout(
    apps: dict[str, Any], counts: list[int], rounds: int, updates: int
) -> dict[str, Any]:
    """By subscriber count and contender: the seconds of every timed update, by round."""
    results: dict[str, Any] = {}
    for count in counts:
        connected = {
            name: (await subscribers(app, frame, count), save)
            for name, (app, frame, save) in apps.items()
        }
        for clients, save in connected.values():
            await one_update(clients, save, "warm-up")
        samples: dict[str, list[list[float]]] = {name: [] for name in connected}
        for number in range(rounds):
            shift = number % len(connected)
            order = list(connected)[shift:] + list(connected)[:shift]
            timed: dict[str, list[float]] = {name: [] for name in connected}
            gc.collect()
            for update in range(updates):
                for name in order:
                    clients, save = connected[name]
                    timed[name].append(await one_update(clients, save, f"r{number}u{update}"))
            for name, seconds in timed.items():
                samples[name].append(seconds)
        for clients, _ in connected.values():
            for client in clients:
                await client.disconnect()
        results[str(count)] = samples
    return results


async def listing(apps: dict[str, Any], rounds: int, requests: int) -> dict[str, list[list[float]]]:
    """Seconds per 100-row list by round, of the observed model and of the other."""
    from channels.testing.websocket import WebsocketCommunicator

    text = json.dumps({"action": "list", "request_id": 1})
    clients = {}
    for name, app in apps.items():
        client = WebsocketCommunicator(app, "/ws/")
        await client.connect()
        clients[name] = client
    samples: dict[str, list[list[float]]] = {name: [] for name in clients}
    for number in range(rounds):
        order = list(clients)[number % 2 :] + list(clients)[: number % 2]
        timed: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(requests):
            for name in order:
                started = time.perf_counter()
                await clients[name].send_to(text_data=text)
                reply = json.loads(await clients[name].receive_from(5))
                timed[name].append(time.perf_counter() - started)
                if len(reply["data"]) != ROWS:
                    raise RuntimeError(f"{name}: {len(reply['data'])} rows")
        for name, seconds in timed.items():
            samples[name].append(seconds)
    for client in clients.values():
        await client.disconnect()
    return samples


def medians(samples: dict[str, list[list[float]]]) -> dict[str, dict[str, Any]]:
    """Median of the round medians (ms), and their range."""
    rows = {}
    for name, by_round in samples.items():
        per_round = [statistics.median(seconds) * 1e3 for seconds in by_round]
        rows[name] = {"median_ms": statistics.median(per_round), "rounds_ms": per_round}
    return rows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    await create_tables()
    apps = build()
    counts = [int(count) for count in args.subscribers.split(",")]
    fanned = await fanout(apps["fanout"], counts, args.rounds, args.updates)
    listed = await listing(apps["list"], args.rounds, args.requests)
    fanout_rows = {count: medians(samples) for count, samples in fanned.items()}
    return {
        "fanout": fanout_rows,
        "ratios": {
            count: {
                f"{TYPED} / {other}": rows[TYPED]["median_ms"] / rows[other]["median_ms"]
                for other in (BARE_NO_HOP, DCRF)
            }
            for count, rows in fanout_rows.items()
        },
        "list": medians(listed),
    }


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def report(layer: str, result: dict[str, Any]) -> None:
    print(f"== {layer} layer: ms until the last subscriber has the update (median; rounds)")
    for count, rows in result["fanout"].items():
        bare = rows[BARE]["median_ms"]
        for name in CONTENDERS:
            row = rows[name]
            low, high = min(row["rounds_ms"]), max(row["rounds_ms"])
            ratio = row["median_ms"] / bare
            print(
                f"{count:>4} subscribers  {name:<27} {row['median_ms']:>8.2f}"
                f"  {low:>7.2f}-{high:<7.2f}  x bare {ratio:.2f}"
            )
        for label, value in result["ratios"][count].items():
            print(f"{count:>4} subscribers  {label}: {value:.2f}")
    plain, observed = result["list"]["not observed"], result["list"]["observed"]
    ratio = observed["median_ms"] / plain["median_ms"]
    print(
        f"list of {ROWS} rows: not observed {plain['median_ms']:.3f} ms,"
        f" observed {observed['median_ms']:.3f} ms, observed / not {ratio:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--layer", choices=["memory", "redis"], default="memory")
    parser.add_argument("--subscribers", default="100,500", help="comma-separated counts")
    parser.add_argument("--rounds", type=int, default=7, help="rounds over every contender")
    parser.add_argument("--updates", type=int, default=3, help="timed updates per round")
    parser.add_argument("--requests", type=int, default=200, help="timed lists per round")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args()
    if min(args.rounds, args.updates, args.requests) < 1:
        parser.error("--rounds, --updates and --requests must be at least 1")
    if args.layer == "redis" and not redis_reachable():
        parser.error("no Redis on 127.0.0.1:6379")
    configure_django(
        "bench_app",
        CHANNEL_LAYERS={"default": LAYERS[args.layer]},
        TYPED_DCRF={"MAX_OUTGOING_EVENTS": 1000},
    )
    started = time.perf_counter()
    result = asyncio.run(run(args))
    print(f"{args.rounds} rounds x {args.updates} updates, {time.perf_counter() - started:.1f} s")
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
