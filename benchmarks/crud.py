"""Throughput of generic CRUD actions: typed_dcrf's ModelConsumer, DCRF 1.3.0 and a bare consumer.

Each consumer answers ``retrieve`` (one row) and ``list`` (100 rows) of one model through one
DRF ModelSerializer, with one SQL query and the same five-key envelope, on SQLite or PostgreSQL;
typed_dcrf's typed output (a ``TypedDict`` of the rows' values) answers the list too. All are
driven in-process through channels' ``WebsocketCommunicator``, connected at once and taking
turns request by request, so that the ratios compare like with like on a busy machine.
Run from the repository root: ``python benchmarks/crud.py`` (set-up: benchmarks/README.md).
"""

import argparse
import asyncio
import gc
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from channels.db import database_sync_to_async
from echo import Case, configure_django, reply, versions

if TYPE_CHECKING:
    from channels.testing.websocket import WebsocketCommunicator

ROWS = 100
RETRIEVE = {"action": "retrieve", "request_id": 7, "pk": 42}
LIST = {"action": "list", "request_id": 7}
ACTIONS = {"retrieve": RETRIEVE, f"list-{ROWS}": LIST}

TYPED = "typed_dcrf"
TYPED_ROWS = "typed_dcrf, typed output"
DCRF = "DCRF 1.3.0"
BARE = "bare channels consumer"
BARE_NO_HOP = "bare, no per-message DB hop"
CONTENDERS = (BARE, BARE_NO_HOP, DCRF, TYPED, TYPED_ROWS)
# The typed output answers the list only (the same data, not through the serializer).
LINES = {"retrieve": CONTENDERS[:-1], f"list-{ROWS}": CONTENDERS}

POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "test",
    "USER": "postgres",
    "HOST": "127.0.0.1",
    "PORT": 5432,
}


@database_sync_to_async
def create_rows() -> tuple[Any, Any]:
    """The table and its rows, in the database thread (each thread has its own in-memory
    database); returns the serialized row ``RETRIEVE`` asks for and the serialized list."""
    from bench_app.models import Item
    from bench_app.serializers import ItemSerializer
    from django.db import connection

    with connection.schema_editor() as editor:
        if Item._meta.db_table in connection.introspection.table_names():
            editor.delete_model(Item)  # left by a run that was stopped
        editor.create_model(Item)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    Item.objects.bulk_create(
        Item(name=f"item {n}", quantity=n, active=n % 2 == 0, created=start + timedelta(hours=n))
        for n in range(1, ROWS + 1)
    )
    one = ItemSerializer(Item.objects.get(pk=RETRIEVE["pk"])).data
    return one, ItemSerializer(Item.objects.all(), many=True).data


@database_sync_to_async
def drop_rows() -> None:
    """Drop the table (on PostgreSQL it outlives the run)."""
    from bench_app.models import Item
    from django.db import connection

    with connection.schema_editor() as editor:
        editor.delete_model(Item)


def build_apps() -> dict[str, Any]:
    """The consumers' ASGI apps by contender, defined once Django is set up."""
    from bench_app.models import Item
    from bench_app.serializers import ItemSerializer
    from channels.consumer import get_handler_name
    from channels.generic.websocket import AsyncJsonWebsocketConsumer

    # DCRF ships no type information (and the project's own venv does not install it).
    from djangochannelsrestframework.generics import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        GenericAsyncAPIConsumer,
    )
    from djangochannelsrestframework.mixins import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        ListModelMixin,
        RetrieveModelMixin,
    )
    from typing_extensions import TypedDict

    from typed_dcrf import AsyncAPIConsumer, Response, action
    from typed_dcrf.mixins import ModelConsumer

    class ItemRow(TypedDict):
        id: int
        name: str
        quantity: int
        active: bool
        created: datetime

    def serialize(pk: int | None) -> Any:
        if pk is None:
            return ItemSerializer(Item.objects.all(), many=True).data
        return ItemSerializer(Item.objects.get(pk=pk)).data

    class Bare(AsyncJsonWebsocketConsumer):
        """The same work by hand, in one ``database_sync_to_async`` call, on channels' own
        dispatch (which first closes stale DB connections, a trip to the DB thread, as in DCRF)."""

        async def receive_json(self, content: Any, **kwargs: Any) -> None:
            data = await database_sync_to_async(serialize)(content.get("pk"))
            envelope = {"errors": [], "data": data, "action": content["action"]}
            envelope |= {"response_status": 200, "request_id": content.get("request_id")}
            await self.send_json(envelope)

    class BareNoHop(Bare):
        """The same, dispatching without channels' per-message ``aclose_old_connections``."""

        async def dispatch(self, message: dict[str, Any]) -> None:
            await getattr(self, get_handler_name(message))(message)

    class DCRFItems(RetrieveModelMixin, ListModelMixin, GenericAsyncAPIConsumer):  # type: ignore[misc]
        queryset = Item.objects.all()
        serializer_class = ItemSerializer

    class TypedItems(ModelConsumer[Item, ItemSerializer]):
        pass

    class TypedRows(AsyncAPIConsumer):
        """The typed output: the rows' values, serialized by their TypedDict."""

        @action()
        def list(self) -> Response[list[ItemRow]]:
            rows = Item.objects.values("id", "name", "quantity", "active", "created")
            return Response.ok(cast("list[ItemRow]", list(rows)))

    return {
        BARE: Bare.as_asgi(),
        BARE_NO_HOP: BareNoHop.as_asgi(),
        DCRF: DCRFItems.as_asgi(),
        TYPED: TypedItems.as_asgi(),
        TYPED_ROWS: TypedRows.as_asgi(),
    }


async def connect(case: Case) -> "WebsocketCommunicator":
    """A connection to the case's consumer, checked to give the expected reply."""
    from channels.testing.websocket import WebsocketCommunicator

    communicator = WebsocketCommunicator(case.app, "/ws/")
    connected, _ = await communicator.connect()
    await communicator.send_to(text_data=json.dumps(case.frame))
    answer = json.loads(await communicator.receive_from()) if connected else "refused"
    if answer != json.loads(reply(case.frame, case.data)):
        raise RuntimeError(f"{case.name}: unexpected reply {str(answer)[:300]}")
    return communicator


async def round_trips(communicator: "WebsocketCommunicator", text: str, count: int) -> None:
    """Send ``text`` and wait for the reply, ``count`` times."""
    for _ in range(count):
        await communicator.send_to(text_data=text)
        await communicator.receive_from()


async def queries_per_request(communicator: "WebsocketCommunicator", text: str) -> float:
    """SQL queries per request, counted in the database thread (whose connection runs them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    requests = 10
    captured = CaptureQueriesContext(connection)
    await database_sync_to_async(captured.__enter__)()
    await round_trips(communicator, text, requests)
    await database_sync_to_async(captured.__exit__)(None, None, None)
    return await database_sync_to_async(len)(captured) / requests


Samples = dict[str, list[list[tuple[float, float]]]]


async def measure(
    cases: list[Case], requests: int, rounds: int
) -> tuple[Samples, dict[str, float]]:
    """Every case's (wall, CPU) seconds per request by round, and its SQL queries per request
    (CPU: the whole process's, the database thread's work included).

    Every consumer stays connected; within a round they take turns, one request each, in an
    order rotated every round, so that all of them meet the same load on the machine.
    """
    clients = [(case.name, await connect(case), json.dumps(case.frame)) for case in cases]
    queries = {name: await queries_per_request(client, text) for name, client, text in clients}
    for _, client, text in clients:
        await round_trips(client, text, max(50, requests // 10))  # warm-up
    samples: Samples = {name: [] for name, _, _ in clients}
    clock, cpu = time.perf_counter, time.process_time
    for number in range(rounds):
        shift = number % len(clients)
        order = clients[shift:] + clients[:shift]
        timed: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in clients}
        gc.collect()
        for _ in range(requests):
            for name, client, text in order:
                start, cpu_start = clock(), cpu()
                await client.send_to(text_data=text)
                await client.receive_from()
                timed[name].append((clock() - start, cpu() - cpu_start))
        for name, seconds in timed.items():
            samples[name].append(seconds)
    for _, client, _ in clients:
        await client.disconnect()
    return samples, queries


async def run(requests: int, rounds: int) -> tuple[Samples, dict[str, float]]:
    """Create the rows, measure every (contender, action) case, drop the rows."""
    one, many = await create_rows()
    try:
        apps = build_apps()
        expected = {"retrieve": one, f"list-{ROWS}": many}
        cases = [
            Case(f"{name} {action}", apps[name], frame, expected[action])
            for action, frame in ACTIONS.items()
            for name in LINES[action]
        ]
        return await measure(cases, requests, rounds)
    finally:
        await drop_rows()


def summarize(samples: Samples, queries: dict[str, float]) -> dict[str, dict[str, dict[str, Any]]]:
    """By action, then contender: µs per request (median of round medians, their range, the
    pooled p90), CPU µs per request (median of round medians, their range), requests/s at the
    median, SQL queries per request."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for action, names in LINES.items():
        rows[action] = {}
        for name in names:
            by_round = samples[f"{name} {action}"]
            medians = [statistics.median(wall for wall, _ in timed) * 1e6 for timed in by_round]
            cpu = [statistics.median(used for _, used in timed) * 1e6 for timed in by_round]
            pooled = [wall for timed in by_round for wall, _ in timed]
            median = statistics.median(medians)
            rows[action][name] = {
                "median_us": median,
                "round_medians_us": medians,
                "p90_us": statistics.quantiles(pooled, n=10)[-1] * 1e6,
                "cpu_us": statistics.median(cpu),
                "cpu_range_us": [min(cpu), max(cpu)],
                "requests_per_s": 1e6 / median,
                "queries": queries[f"{name} {action}"],
            }
    return rows


def ratios(rows: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """typed_dcrf's medians (wall and CPU) over each other contender's, per action; the typed
    output's over the bare consumer's without the hop."""
    headline: dict[str, float] = {}
    for action, by_name in rows.items():
        typed = [TYPED, TYPED_ROWS] if TYPED_ROWS in by_name else [TYPED]
        for line in typed:
            for other in (DCRF, BARE, BARE_NO_HOP):
                for key, unit in (("median_us", ""), ("cpu_us", ", CPU")):
                    value = by_name[line][key] / by_name[other][key]
                    headline[f"{action}: {line} / {other}{unit}"] = value
    return headline


def print_table(rows: dict[str, dict[str, dict[str, Any]]], headline: dict[str, float]) -> None:
    """One table per action, then the ratios."""
    width = max(map(len, CONTENDERS))
    for action, by_name in rows.items():
        print(
            f"{action:<{width}}  {'median µs':>9}  {'rounds µs':>11}  {'p90 µs':>8}"
            f"  {'CPU µs':>7}  {'req/s':>6}  {'SQL/req':>7}"
        )
        for name, row in by_name.items():
            low, high = min(row["round_medians_us"]), max(row["round_medians_us"])
            print(
                f"{name:<{width}}  {row['median_us']:>9.1f}  {f'{low:.0f}-{high:.0f}':>11}"
                f"  {row['p90_us']:>8.1f}  {row['cpu_us']:>7.1f}  {row['requests_per_s']:>6.0f}"
                f"  {row['queries']:>7.2f}"
            )
        print()
    label_width = max(map(len, headline))
    for label, value in headline.items():
        print(f"{label:<{label_width}}  {value:>5.2f}")


def main() -> None:
    """Parse the flags, run every case and report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per round")
    parser.add_argument("--rounds", type=int, default=9, help="rounds over every consumer")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="SQLite in memory, "
        "or PostgreSQL's database test on 127.0.0.1:5432 (a table made, then dropped)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args()
    if args.requests < 2 or args.rounds < 1:
        parser.error("--requests must be at least 2 and --rounds at least 1")
    if args.database == "postgres":
        configure_django("bench_app", DATABASES={"default": POSTGRES})
    else:
        configure_django("bench_app")
    started = time.perf_counter()
    samples, queries = asyncio.run(run(args.requests, args.rounds))
    elapsed = time.perf_counter() - started
    rows = summarize(samples, queries)
    headline = ratios(rows)
    print(
        f"{args.requests} requests x {args.rounds} rounds per case on {args.database},"
        f" {elapsed:.1f} s"
    )
    print(", ".join(f"{name} {number}" for name, number in versions().items()))
    print()
    print_table(rows, headline)
    if args.json:
        result = {"requests": args.requests, "rounds": args.rounds, "database": args.database}
        result |= {"versions": versions()}
        result |= {"actions": rows, "ratios": headline}
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
