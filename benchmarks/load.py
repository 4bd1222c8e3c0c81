"""A load harness, not a timed test: many websocket connections to a real uvicorn process,
driven for a fixed time, every reply and event checked.

``--connections`` clients (the ``websockets`` library, in this process) connect to one uvicorn
process on 127.0.0.1 serving ``load_app.py``'s model consumer (CRUD, instance and list
subscriptions, an echo) over the in-memory channel layer or Redis (``--layer redis``), with SQLite
(WAL, connections kept) or PostgreSQL (``--database postgres``, a database of its own). Each
client first subscribes (a list subscription of ``rank >= min_rank`` for a share of them, one or
two rows for the others), then, for ``--seconds``, sends one action at a time at ``--rate``
actions per second in all: echo, retrieve, a filtered list, create/patch/delete of the rows it
owns (every row has one writer, so its writes are ordered), and subscribing and unsubscribing.
Then it waits until nothing more arrives, and checks:

- every reply reached the socket that asked, with the request_id it was asked with (request_ids
  are unique: a frame with one the socket never used is cross-delivered), and says what it
  should (the echo its text, a retrieve its row, a list only rows of its filter);
- every event reached exactly its subscribers: from the writes the harness made (each row's
  revision is in its name) and the times each subscription held, it computes which events each
  subscription must get, in order (``create``/``update``/``delete`` as the row enters, stays in
  or leaves a list's filter), which it may get (writes that overlap its subscribing or
  unsubscribing), and which it must not; anything else is lost, duplicated or cross-delivered.
  An instance subscription's update may be replaced by a newer one of its row while it waits
  to go out (README, "Slow clients"): counted as coalesced, not lost.

Reported: actions and events per second, reply latency p50/p99, the server's resident memory
idle and at its peak, connections held. The exit status is 1 when anything was lost,
duplicated, cross-delivered, or a connection was closed. Run from the repository root:
``python benchmarks/load.py`` (set-up: benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
NEVER = math.inf

# What each client does, by weight, once subscribed.
ACTIONS = {
    "echo": 35,
    "retrieve": 25,
    "list": 10,
    "create": 4,
    "patch": 10,
    "delete": 4,
    "subscribe_instance": 3,
    "unsubscribe_instance": 3,
    "subscribe_list": 3,
    "unsubscribe_list": 3,
}
REPLY_TIMEOUT = 120  # seconds: a reply that takes longer is lost
MAX_SUBSCRIPTIONS = 4  # per client (typed_dcrf allows 100)
LIST_FLOOR = 90  # list subscriptions filter rank >= 90..99 (each about 5 % of the rows)


def seed_rank(pk: int) -> int:
    """The rank of seeded row ``pk`` (as ``load_app.create_tables`` makes it)."""
    return pk * 37 % 100


def revision_of(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


@dataclass
class Write:
    """One write of a row, as the harness made it."""

    pk: int
    revision: int
    before: int | None  # the rank before (None: the row did not exist)
    after: int | None  # the rank after (None: deleted)
    sent: float
    replied: float = NEVER


@dataclass
class Row:
    pk: int
    owner: int
    rank: int
    revision: int = 0
    alive: bool = True
    deleting: float = NEVER  # when its delete was sent


@dataclass
class Subscription:
    client: int
    request_id: str
    pk: int | None  # an instance subscription's row
    min_rank: int | None  # a list subscription's filter
    sent: float
    confirmed: float = NEVER
    failed: bool = False
    unsubscribe_sent: float = NEVER
    unsubscribed: float = NEVER
    snapshot: dict[int, int] = field(default_factory=dict[int, int])  # pk: rank
    events: list[tuple[str, int, int | None, int | None, float]] = field(
        default_factory=list[tuple[str, int, int | None, int | None, float]]
    )  # (action, pk, revision, rank, arrival)


@dataclass
class Tally:
    """What went wrong, counted."""

    lost: int = 0
    lost_replies: int = 0
    duplicated: int = 0
    cross_delivered: int = 0
    wrong_replies: int = 0
    coalesced: int = 0
    closed: Counter[int | None] = field(default_factory=Counter[int | None])
    samples: list[str] = field(default_factory=list[str])
    _kinds: Counter[str] = field(default_factory=Counter[str])

    def note(self, what: str, kind: str = "") -> None:
        """Keep ``what`` as an example (the first five of each kind)."""
        self._kinds[kind] += 1
        if self._kinds[kind] <= 5:
            self.samples.append(what)


class World:
    """Everything the clients share: the rows, their writes, the subscriptions, the tally."""

    def __init__(self, rows: int, connections: int) -> None:
        self.rows = {
            pk: Row(pk, (pk - 1) % connections, seed_rank(pk)) for pk in range(1, rows + 1)
        }
        self.writes: dict[int, list[Write]] = {pk: [] for pk in self.rows}
        self.subscriptions: list[Subscription] = []
        self.tally = Tally()
        self.latencies: list[float] = []
        self.replies = 0
        self.events = 0
        self.last_frame = time.monotonic()
        self.started = time.monotonic()  # when the drive began
        self.owned: dict[int, list[int]] = {}
        for row in self.rows.values():
            self.owned.setdefault(row.owner, []).append(row.pk)

    def alive_pks(self) -> list[int]:
        return [pk for pk, row in self.rows.items() if row.alive and row.deleting == NEVER]


@dataclass
class Pending:
    action: str
    sent: float
    future: asyncio.Future[dict[str, Any]]


class Client:
    """One websocket connection: a reader routing every frame, and a driver sending actions."""

    def __init__(self, number: int, world: World, socket_: Any) -> None:
        self.number = number
        self.world = world
        self.socket = socket_
        self.counter = 0
        self.pending: dict[str, Pending] = {}
        self.subscriptions: dict[str, Subscription] = {}  # by request_id, ended ones too
        self.held: list[Subscription] = []  # not (being) unsubscribed
        self.random = random.Random(number)
        self.reader = asyncio.create_task(self.read())

    def request_id(self) -> str:
        self.counter += 1
        return f"c{self.number}.{self.counter}"

    async def read(self) -> None:
        world = self.world
        try:
            async for text in self.socket:
                world.last_frame = time.monotonic()
                self.route(json.loads(text))
        except Exception as exc:  # the connection failed
            world.tally.note(f"client {self.number}: {exc!r}")
        code = self.socket.close_code
        if code != 1000:
            world.tally.closed[code] += 1
        for pending in self.pending.values():
            if not pending.future.done():
                pending.future.set_exception(ConnectionError(f"closed with {code}"))

    def route(self, frame: dict[str, Any]) -> None:
        world = self.world
        request_id = frame.get("request_id")
        action = frame.get("action")
        pending = self.pending.get(request_id) if isinstance(request_id, str) else None
        if pending is not None and pending.action == action:
            if action == "subscribe_list" and frame.get("response_status") == 206:
                subscription = self.subscriptions[request_id]  # type: ignore[index]
                for row in frame["data"]["results"]:
                    subscription.snapshot[row["id"]] = row["rank"]
                return
            del self.pending[request_id]  # type: ignore[arg-type]
            world.latencies.append(time.monotonic() - pending.sent)
            world.replies += 1
            pending.future.set_result(frame)
            return
        subscription = self.subscriptions.get(request_id) if isinstance(request_id, str) else None
        if subscription is not None and action in ("create", "update", "delete"):
            world.events += 1
            data = frame.get("data") or {}
            if action == "delete":
                subscription.events.append((action, data.get("pk"), None, None, time.monotonic()))
            else:
                name = str(data.get("name"))
                event = (
                    action,
                    data.get("id"),
                    revision_of(name),
                    data.get("rank"),
                    time.monotonic(),
                )
                subscription.events.append(event)
            return
        world.tally.cross_delivered += 1
        world.tally.note(f"client {self.number}: a frame for nobody here: {frame!r:.200}")

    async def call(
        self, action: str, request_id: str | None = None, **arguments: Any
    ) -> dict[str, Any]:
        request_id = request_id or self.request_id()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = Pending(action, time.monotonic(), future)
        await self.socket.send(
            json.dumps({"action": action, "request_id": request_id, **arguments})
        )
        try:
            return await asyncio.wait_for(future, REPLY_TIMEOUT)
        except TimeoutError:
            self.world.tally.lost_replies += 1
            self.world.tally.note(f"client {self.number}: no reply to {action} {request_id}")
            raise

    def wrong(self, what: str, frame: dict[str, Any]) -> None:
        self.world.tally.wrong_replies += 1
        self.world.tally.note(f"client {self.number}: {what}: {frame!r:.200}")

    # The actions.

    async def echo(self) -> None:
        request_id = self.request_id()
        frame = await self.call("echo", request_id, text=request_id)
        if frame["response_status"] != 200 or frame["data"] != request_id:
            self.wrong("echo", frame)

    async def retrieve(self) -> None:
        pks = self.world.alive_pks()
        if not pks:
            return
        pk = self.random.choice(pks)
        frame = await self.call("retrieve", pk=pk)
        if frame["response_status"] == 200 and frame["data"]["id"] == pk:
            return
        if frame["response_status"] == 404 and self.world.rows[pk].deleting != NEVER:
            return  # deleted by its owner meanwhile
        self.wrong(f"retrieve {pk}", frame)

    async def list(self) -> None:
        min_rank = self.random.randrange(97, 100)
        frame = await self.call("list", min_rank=min_rank)
        ranks = [row["rank"] for row in frame["data"]] if frame["response_status"] == 200 else [-1]
        if any(rank < min_rank for rank in ranks):
            self.wrong(f"list rank >= {min_rank}", frame)

    async def create(self) -> None:
        world = self.world
        rank = self.random.randrange(100)
        tag = f"c{self.number}.{self.counter + 1}"
        write = Write(0, 0, None, rank, time.monotonic())
        frame = await self.call("create", data={"name": f"{tag}-0", "rank": rank})
        write.replied = time.monotonic()
        if frame["response_status"] != 201 or frame["data"]["rank"] != rank:
            self.wrong("create", frame)
            return
        pk = int(frame["data"]["id"])
        write.pk = pk
        world.rows[pk] = Row(pk, self.number, rank)
        world.writes[pk] = [write]
        world.owned.setdefault(self.number, []).append(pk)

    def own_row(self) -> Row | None:
        pks = [pk for pk in self.world.owned.get(self.number, []) if self.world.rows[pk].alive]
        return self.world.rows[self.random.choice(pks)] if pks else None

    async def patch(self) -> None:
        row = self.own_row()
        if row is None:
            return
        rank = self.random.randrange(100) if self.random.random() < 0.5 else row.rank
        revision = row.revision + 1
        write = Write(row.pk, revision, row.rank, rank, time.monotonic())
        self.world.writes[row.pk].append(write)
        data = {"name": f"{row.pk}-{revision}", "rank": rank}
        frame = await self.call("patch", pk=row.pk, data=data)
        write.replied = time.monotonic()
        row.rank, row.revision = rank, revision
        if frame["response_status"] != 200 or frame["data"]["name"] != data["name"]:
            self.wrong(f"patch {row.pk}", frame)

    async def delete(self) -> None:
        row = self.own_row()
        if row is None:
            return
        write = Write(row.pk, row.revision, row.rank, None, time.monotonic())
        self.world.writes[row.pk].append(write)
        row.deleting = write.sent
        frame = await self.call("delete", pk=row.pk)
        write.replied = time.monotonic()
        row.alive = False
        if frame["response_status"] != 204:
            self.wrong(f"delete {row.pk}", frame)

    def room(self) -> bool:
        return len(self.held) < MAX_SUBSCRIPTIONS

    async def subscribe_instance(self) -> None:
        pks = self.world.alive_pks()
        held = {sub.pk for sub in self.held}
        pks = [pk for pk in pks if pk not in held]
        if not pks or not self.room():
            return
        pk = self.random.choice(pks)
        request_id = self.request_id()
        subscription = Subscription(self.number, request_id, pk, None, time.monotonic())
        self.subscriptions[request_id] = subscription
        self.world.subscriptions.append(subscription)
        self.held.append(subscription)
        frame = await self.call("subscribe_instance", request_id, pk=pk)
        if frame["response_status"] == 201:
            subscription.confirmed = time.monotonic()
            return
        subscription.failed = True
        self.held.remove(subscription)
        if frame["response_status"] != 404 or self.world.rows[pk].deleting == NEVER:
            self.wrong(f"subscribe_instance {pk}", frame)

    async def subscribe_list(self) -> None:
        if not self.room():
            return
        min_rank = self.random.randrange(LIST_FLOOR, 100)
        request_id = self.request_id()
        subscription = Subscription(self.number, request_id, None, min_rank, time.monotonic())
        self.subscriptions[request_id] = subscription
        self.world.subscriptions.append(subscription)
        self.held.append(subscription)
        frame = await self.call("subscribe_list", request_id, min_rank=min_rank)
        if frame["response_status"] == 201:
            subscription.confirmed = time.monotonic()
            return
        subscription.failed = True
        self.held.remove(subscription)
        self.wrong(f"subscribe_list {min_rank}", frame)

    async def unsubscribe(self, kind: str) -> None:
        held = [sub for sub in self.held if (sub.pk is None) == (kind == "list")]
        if not held:
            return
        subscription = self.random.choice(held)
        self.held.remove(subscription)
        subscription.unsubscribe_sent = time.monotonic()
        arguments = {} if subscription.pk is None else {"pk": subscription.pk}
        action = f"unsubscribe_{kind}"
        frame = await self.call(action, subscription.request_id, **arguments)
        subscription.unsubscribed = time.monotonic()
        gone = subscription.pk is not None and not self.world.rows[subscription.pk].alive
        if frame["response_status"] != 204 and not (gone and frame["response_status"] == 404):
            self.wrong(action, frame)

    async def unsubscribe_instance(self) -> None:
        await self.unsubscribe("instance")

    async def unsubscribe_list(self) -> None:
        await self.unsubscribe("list")

    async def drive(self, until: float, period: float) -> int:
        """Actions, one at a time, one every ``period`` seconds on average, until ``until``."""
        names = list(ACTIONS)
        weights = list(ACTIONS.values())
        done = 0
        due = time.monotonic() + self.random.uniform(0, period)
        while not self.reader.done():
            now = time.monotonic()
            if min(due, until) > now:
                await asyncio.sleep(min(due, until) - now)
            if time.monotonic() >= until:
                break
            due += self.random.expovariate(1 / period)
            name = self.random.choices(names, weights)[0]
            await getattr(self, name)()
            done += 1
        return done


# The server.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def raise_file_limit(needed: int) -> int:
    """Raise this process's open-file limit (and so the server's, which inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, needed))
    if wanted != soft and wanted != resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def resident_bytes(pid: int) -> tuple[int, int]:
    """The process's resident set now, and at its peak (``VmHWM``)."""
    now = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    peak = now
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
    return now, peak


def start_server(environment: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "load_app:app", "--app-dir", str(HERE)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
    command += ["--log-level", "warning", "--ws", "websockets-sansio", "--backlog", "4096"]
    process = subprocess.Popen(command, env=environment)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("uvicorn did not start")


# The checks.


def in_filter(rank: int | None, min_rank: int) -> bool:
    return rank is not None and rank >= min_rank


def expected_events(
    subscription: Subscription, writes: list[Write]
) -> list[tuple[str, int, int | None, bool]]:
    """The events ``subscription`` gets of one row's ``writes``, in order: (action, revision,
    rank, optional). Optional: a write that overlaps the subscribing (it may be in the snapshot
    instead), or any write once unsubscribing began (an event waiting in the channel layer may
    be dropped by the unsubscribe, as documented)."""
    expected: list[tuple[str, int, int | None, bool]] = []
    for write in writes:
        if write.replied < subscription.sent or write.sent > subscription.unsubscribed:
            continue
        optional = write.sent < subscription.confirmed or subscription.unsubscribe_sent != NEVER
        if subscription.min_rank is None:
            action = "delete" if write.after is None else "update"
        else:
            before = in_filter(write.before, subscription.min_rank)
            after = in_filter(write.after, subscription.min_rank)
            if not before and not after:
                continue
            action = "update" if before and after else "create" if after else "delete"
        expected.append((action, write.revision, write.after, optional))
    return expected


def matches(entry: tuple[str, int, int | None, bool], action: str, revision: int | None) -> bool:
    """Whether a received event is the expected ``entry`` (a delete names no revision)."""
    return entry[0] == action and (action == "delete" or entry[1] == revision)


def check_subscription(subscription: Subscription, world: World) -> None:
    tally = world.tally
    lost_before = tally.lost
    by_row: dict[int, list[tuple[str, int | None, int | None]]] = {}
    for action, pk, revision, rank, _ in subscription.events:
        if (subscription.pk is not None and pk != subscription.pk) or pk not in world.writes:
            tally.cross_delivered += 1
            tally.note(f"{subscription.request_id}: an event of row {pk}", "row")
            continue
        by_row.setdefault(pk, []).append((action, revision, rank))
    rows = [subscription.pk] if subscription.pk is not None else list(world.writes)
    for pk in rows:
        if subscription.failed:
            expected: list[tuple[str, int, int | None, bool]] = []
        else:
            expected = expected_events(subscription, world.writes[pk])
        received = by_row.get(pk, [])
        if not expected and not received:
            continue
        cursor = 0
        for action, revision, rank in received:
            found = next(
                (i for i in range(cursor, len(expected)) if matches(expected[i], action, revision)),
                None,
            )
            if found is None:
                if any(matches(entry, action, revision) for entry in expected[:cursor]):
                    tally.duplicated += 1
                    what = "twice"
                else:
                    tally.cross_delivered += 1
                    what = "unexpected"
                tally.note(f"{subscription.request_id} row {pk}: {action} r{revision} {what}", what)
                continue
            if action != "delete" and rank != expected[found][2]:
                tally.cross_delivered += 1
                tally.note(f"{subscription.request_id} row {pk}: {action} with rank {rank}", "rank")
            skipped = [entry for entry in expected[cursor:found] if not entry[3]]
            if subscription.pk is not None:
                tally.coalesced += len(skipped)  # replaced by a newer one of its row
            else:
                tally.lost += len(skipped)
                for entry in skipped:
                    tally.note(
                        f"{subscription.request_id} row {pk}: {entry[0]} r{entry[1]} lost", "lost"
                    )
            cursor = found + 1
        missing = [entry for entry in expected[cursor:] if not entry[3]]
        tally.lost += len(missing)
        for entry in missing:
            tally.note(f"{subscription.request_id} row {pk}: {entry[0]} r{entry[1]} lost", "lost")
    if tally.lost > lost_before:
        kind = "instance" if subscription.pk is not None else f"list >= {subscription.min_rank}"
        arrivals = [event[4] - world.started for event in subscription.events]
        tally.note(
            f"{subscription.request_id} ({kind}, subscribed at "
            f"{subscription.confirmed - world.started:.1f} s): {tally.lost - lost_before} lost, "
            f"{len(arrivals)} received, the last at {max(arrivals, default=math.nan):.1f} s",
            "subscription",
        )


# The run.


async def connect(url: str, number: int, world: World) -> Client:
    import websockets

    socket_ = await websockets.connect(url, max_queue=None, ping_interval=None, open_timeout=120)
    return Client(number, world, socket_)


async def first_subscriptions(client: Client, list_share: float) -> None:
    if client.random.random() < list_share:
        await client.subscribe_list()
    else:
        for _ in range(client.random.choice((1, 2))):
            await client.subscribe_instance()


def cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def settle(world: World, pid: int, quiet: float, limit: float) -> None:
    """Wait until no frame has arrived for ``quiet`` seconds and the server is idle (under 5 %
    of a core over the last second), at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        used = cpu_seconds(pid)
        await asyncio.sleep(1)
        idle = cpu_seconds(pid) - used < 0.05
        if idle and time.monotonic() - world.last_frame >= quiet:
            return


async def run(args: argparse.Namespace, url: str, pid: int) -> dict[str, Any]:
    import websockets

    world = World(args.rows, args.connections)
    async with websockets.connect(url) as first:  # the server warmed up, then idle
        await first.send(json.dumps({"action": "echo", "text": "x", "request_id": 1}))
        await first.recv()
    await asyncio.sleep(0.5)
    idle, _ = resident_bytes(pid)
    opening = asyncio.Semaphore(50)

    async def opened(number: int) -> Client:
        async with opening:
            return await connect(url, number, world)

    started = time.monotonic()
    clients = await asyncio.gather(*(opened(n) for n in range(args.connections)))
    connected = time.monotonic() - started
    await asyncio.gather(*(first_subscriptions(c, args.list_share) for c in clients))
    subscribed = time.monotonic() - started - connected
    replies, events = world.replies, world.events
    period = args.connections / args.rate
    started = world.started = time.monotonic()
    done = await asyncio.gather(
        *(c.drive(started + args.seconds, period) for c in clients), return_exceptions=True
    )
    elapsed = time.monotonic() - started
    actions = world.replies - replies
    events_in_drive = world.events - events
    latencies = sorted(world.latencies[replies:])
    held = sum(not c.reader.done() for c in clients)
    now, peak = resident_bytes(pid)
    await settle(world, pid, args.quiet, 300)
    settled = time.monotonic() - started
    for client, outcome in zip(clients, done, strict=True):
        if isinstance(outcome, BaseException) and not client.reader.done():
            world.tally.note(f"client {client.number}: {outcome!r}")
    for subscription in world.subscriptions:
        check_subscription(subscription, world)
    await asyncio.gather(*(c.socket.close() for c in clients))
    await asyncio.gather(*(c.reader for c in clients))
    tally = world.tally
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [math.nan] * 99
    return {
        "connections": args.connections,
        "connections_held": held,
        "seconds": elapsed,
        "settled_s": settled,
        "connect_s": connected,
        "subscribe_s": subscribed,
        "actions": actions,
        "actions_per_s": actions / elapsed,
        "events": events_in_drive,
        "events_per_s": events_in_drive / elapsed,
        "events_total": world.events,
        "p50_ms": statistics.median(latencies) * 1e3 if latencies else math.nan,
        "p99_ms": cuts[98] * 1e3,
        "server_idle_mb": idle / 2**20,
        "server_loaded_mb": now / 2**20,
        "server_peak_mb": peak / 2**20,
        "subscriptions": len(world.subscriptions),
        "writes": sum(len(w) for w in world.writes.values()),
        "lost": tally.lost,
        "duplicated": tally.duplicated,
        "cross_delivered": tally.cross_delivered,
        "wrong_replies": tally.wrong_replies,
        "lost_replies": tally.lost_replies,
        "coalesced": tally.coalesced,
        "closed": {str(code): count for code, count in tally.closed.items()},
        "samples": tally.samples,
    }


def make_database(args: argparse.Namespace, folder: Path) -> tuple[str, Any]:
    """The database's name, and how to drop it."""
    if args.database == "sqlite":
        return str(folder / "load.sqlite3"), lambda: None
    import psycopg

    name = f"typed_dcrf_load_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return name, drop


def forget_prefix(prefix: str) -> None:
    """Delete the Redis keys under the run's own prefix (never anyone else's)."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("Django", "channels", "channels-redis", "redis", "uvicorn", "websockets")
    found = {"Python": sys.version.split()[0]}
    for name in names:
        found[name] = version(name)
    return found


def print_result(result: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"uvicorn, {args.layer} layer (capacity {args.capacity}, expiry {args.expiry} s), "
        f"{args.database}: "
        f"{result['connections_held']}/{result['connections']} connections held, "
        f"{result['seconds']:.1f} s, the last frame {result['settled_s'] - args.quiet:.1f} s"
        " after the start"
    )
    print(", ".join(f"{name} {number}" for name, number in versions().items()))
    print(
        f"connected in {result['connect_s']:.1f} s, first subscriptions in "
        f"{result['subscribe_s']:.1f} s; {result['subscriptions']} subscriptions, "
        f"{result['writes']} writes"
    )
    rows = [
        ("actions", f"{result['actions']} ({result['actions_per_s']:.0f}/s)"),
        (
            "events while driving (in all)",
            f"{result['events']} ({result['events_per_s']:.0f}/s; {result['events_total']})",
        ),
        ("reply p50 / p99 ms", f"{result['p50_ms']:.1f} / {result['p99_ms']:.1f}"),
        (
            "server RSS idle / loaded / peak MB",
            f"{result['server_idle_mb']:.1f} / {result['server_loaded_mb']:.1f}"
            f" / {result['server_peak_mb']:.1f}",
        ),
        (
            "lost / duplicated / cross-delivered",
            "{lost} / {duplicated} / {cross_delivered}".format(**result),
        ),
        ("replies lost / wrong", f"{result['lost_replies']} / {result['wrong_replies']}"),
        ("coalesced (allowed)", str(result["coalesced"])),
        ("closed by the server", json.dumps(result["closed"])),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for sample in result["samples"]:
        print(f"  {sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000, help="websocket clients")
    parser.add_argument("--seconds", type=float, default=30, help="how long to drive them")
    parser.add_argument("--rate", type=float, default=100, help="actions per second, in all")
    parser.add_argument("--rows", type=int, default=1000, help="rows to begin with")
    parser.add_argument(
        "--list-share", type=float, default=0.1, help="share of clients with a list subscription"
    )
    parser.add_argument("--layer", choices=["memory", "redis"], default="memory")
    parser.add_argument(
        "--capacity", type=int, default=1000, help="the channel layer's per-channel capacity"
    )
    parser.add_argument(
        "--expiry", type=int, default=60, help="seconds a message may wait on the layer"
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--quiet", type=float, default=3, help="seconds without a frame that end the run"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args()
    if min(args.connections, args.seconds, args.rate, args.rows, args.capacity) <= 0:
        parser.error("every count must be at least 1")
    raise_file_limit(2 * args.connections + 256)
    prefix = f"typed-dcrf-load-{uuid.uuid4().hex[:12]}:"
    with tempfile.TemporaryDirectory() as folder:
        name, drop = make_database(args, Path(folder))
        environment = {
            **os.environ,
            "LOAD_LAYER": args.layer,
            "LOAD_CAPACITY": str(args.capacity),
            "LOAD_EXPIRY": str(args.expiry),
            "LOAD_PREFIX": prefix,
            "LOAD_DATABASE": args.database,
            "LOAD_DATABASE_NAME": name,
        }
        try:
            subprocess.run(
                [sys.executable, str(HERE / "load_app.py"), str(args.rows)],
                check=True,
                env=environment,
            )
            process, port = start_server(environment)
            try:
                result = asyncio.run(run(args, f"ws://127.0.0.1:{port}/ws/", process.pid))
            finally:
                process.terminate()
                process.wait(30)
        finally:
            drop()
            if args.layer == "redis":
                forget_prefix(prefix)
    print_result(result, args)
    if args.json:
        result |= {"layer": args.layer, "capacity": args.capacity, "expiry": args.expiry}
        result |= {"database": args.database}
        result |= {"rate": args.rate, "versions": versions()}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    failed = result["lost"] + result["duplicated"] + result["cross_delivered"]
    failed += result["wrong_replies"] + result["lost_replies"] + sum(result["closed"].values())
    failed += result["connections"] - result["connections_held"]
    if failed:
        sys.exit("load: something was lost, duplicated, cross-delivered or closed (see above)")


if __name__ == "__main__":
    main()
