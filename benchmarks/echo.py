"""Per-action overhead of typed_dcrf, against a bare channels consumer and DCRF 1.3.0.

Every consumer answers the same frame, an echo of three arguments (validated, but by DCRF), with
the same five-key envelope. Each is driven in-process through channels' ``WebsocketCommunicator``,
one frame at a time (send, then receive) and pipelined (a batch of frames sent, then their
replies received), in the same run, rounds interleaved, so that the ratios compare like with like.
Run from the repository root: ``python benchmarks/echo.py`` (set-up: benchmarks/README.md).
"""

import argparse
import asyncio
import gc
import json
import platform
import statistics
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import django
from asgiref.typing import (
    ASGIApplication,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    Scope,
)
from django.conf import settings

RAW = "raw ASGI app (harness floor)"
BARE = "bare channels consumer"
BARE_NO_HOP = "bare, no per-message DB hop"
DCRF_ASYNC = "DCRF 1.3.0 async echo"
DCRF_SYNC = "DCRF 1.3.0 sync echo"
TYPED = "typed_dcrf async echo"
TYPED_SYNC = "typed_dcrf sync echo"
TYPED_FIELDS = "typed_dcrf async, 5 arguments"

ECHO = {"action": "echo", "request_id": 7, "text": "hello", "count": 3, "flag": True}
ECHOED = {"text": "hello", "count": 3, "flag": True}
FIELDS = {
    "action": "fields",
    "request_id": 7,
    "count": 3,
    "name": "bench",
    "flag": True,
    "ratio": 0.5,
    "ids": [1, 2, 3, 4, 5],
}


@dataclass(frozen=True)
class Case:
    """One consumer under test, the frame it is sent and the reply it must give."""

    name: str
    app: ASGIApplication
    frame: dict[str, Any]
    data: Any
    pipelined: bool = True
    """Also measured pipelined."""


def configure_django(*apps: str, **overrides: Any) -> None:
    """Minimal settings: in-memory SQLite, no channel layer, UTC, the apps DCRF imports and
    ``apps``; ``overrides`` replace or add settings."""
    settings.configure(
        SECRET_KEY="benchmark",
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "channels",
            "rest_framework",
            *apps,
        ],
        **{
            "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            "CHANNEL_LAYERS": {},
            "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
            **overrides,
        },
    )
    django.setup()


def reply(frame: dict[str, Any], data: Any) -> str:
    """The success envelope every consumer sends back, encoded by hand."""
    envelope: dict[str, Any] = {
        "errors": [],
        "data": data,
        "action": frame["action"],
        "response_status": 200,
        "request_id": frame.get("request_id"),
    }
    return json.dumps(envelope)


async def raw_echo(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """A raw ASGI app, no consumer at all: what the communicator round trip itself costs."""
    await receive()
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    while (message := await receive())["type"] == "websocket.receive":
        frame = json.loads(message.get("text") or "")
        text = reply(frame, {key: frame[key] for key in ECHOED})
        # The communicator wants "text" or "bytes" alone; asgiref's TypedDict wants both.
        await send(cast("ASGISendEvent", {"type": "websocket.send", "text": text}))


def echoed(frame: dict[str, Any]) -> dict[str, Any] | None:
    """The echo's data, its three arguments checked by hand; ``None`` if one is wrong."""
    text, count, flag = frame.get("text"), frame.get("count"), frame.get("flag")
    if isinstance(text, str) and type(count) is int and isinstance(flag, bool):
        return {"text": text, "count": count, "flag": flag}
    return None


def error(frame: dict[str, Any]) -> str:
    """The 400 every bare consumer answers a wrong argument with."""
    envelope = {"errors": ["Invalid arguments."], "data": None, "action": frame.get("action")}
    return json.dumps({**envelope, "response_status": 400, "request_id": frame.get("request_id")})


def bare_consumers() -> dict[str, type]:
    """The bare echo consumers by line, on channels' dispatch and without its hop (defined once
    Django is set up: their imports need the app registry)."""
    from channels.consumer import get_handler_name
    from channels.generic.websocket import AsyncWebsocketConsumer

    class Bare(AsyncWebsocketConsumer):
        """The echo by hand, on channels' own dispatch (a DB-thread hop per message)."""

        async def receive(
            self, text_data: str | None = None, bytes_data: bytes | None = None
        ) -> None:
            frame = json.loads(text_data or "")
            data = echoed(frame)
            await self.send(error(frame) if data is None else reply(frame, data))

    class BareNoHop(Bare):
        """The same, dispatching without channels' per-message ``aclose_old_connections``."""

        async def dispatch(self, message: dict[str, Any]) -> None:
            await getattr(self, get_handler_name(message))(message)

    return {BARE: Bare, BARE_NO_HOP: BareNoHop}


def dcrf_consumer() -> type:
    """DCRF 1.3.0's echo consumer: async and sync echo actions."""
    # DCRF ships no type information (and the project's own venv does not install it).
    from djangochannelsrestframework.consumers import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        AsyncAPIConsumer as DCRFConsumer,
    )
    from djangochannelsrestframework.decorators import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        action as dcrf_action,
    )

    class DCRF(DCRFConsumer):  # type: ignore[misc]
        """DCRF 1.3.0: async and sync echo actions."""

        @dcrf_action()  # type: ignore[untyped-decorator]
        async def echo(
            self, text: str, count: int, flag: bool, **kwargs: Any
        ) -> tuple[dict[str, Any], int]:
            return {"text": text, "count": count, "flag": flag}, 200

        @dcrf_action()  # type: ignore[untyped-decorator]
        def echo_sync(
            self, text: str, count: int, flag: bool, **kwargs: Any
        ) -> tuple[dict[str, Any], int]:
            return {"text": text, "count": count, "flag": flag}, 200

    return DCRF


def typed_consumer() -> type:
    """typed_dcrf's echo consumer: async, sync and five-argument actions."""
    from typing_extensions import TypedDict

    from typed_dcrf import AsyncAPIConsumer, Response, action

    class Echoed(TypedDict):
        text: str
        count: int
        flag: bool

    class Typed(AsyncAPIConsumer):
        """typed_dcrf: async, sync and five-argument actions."""

        @action()
        async def echo(self, text: str, count: int, flag: bool) -> Response[Echoed]:
            return Response.ok({"text": text, "count": count, "flag": flag})

        @action()
        def echo_sync(self, text: str, count: int, flag: bool) -> Response[Echoed]:
            return Response.ok({"text": text, "count": count, "flag": flag})

        @action()
        async def fields(
            self, count: int, name: str, flag: bool, ratio: float, ids: list[int]
        ) -> Response[int]:
            return Response.ok(count + len(ids))

    return Typed


def echo_consumer(line: str) -> type:
    """One line's echo consumer, importing only what that line uses."""
    if line == DCRF_ASYNC:
        return dcrf_consumer()
    if line == TYPED:
        return typed_consumer()
    return bare_consumers()[line]


def build_cases() -> list[Case]:
    """Every line: the echo consumers' async and sync echoes, and the harness floor."""
    bare_lines = bare_consumers()
    bare, no_hop = bare_lines[BARE].as_asgi(), bare_lines[BARE_NO_HOP].as_asgi()
    dcrf, typed = dcrf_consumer().as_asgi(), typed_consumer().as_asgi()
    echo_sync = {**ECHO, "action": "echo_sync"}
    return [
        Case(RAW, raw_echo, ECHO, ECHOED),
        Case(BARE, bare, ECHO, ECHOED),
        Case(BARE_NO_HOP, no_hop, ECHO, ECHOED),
        Case(DCRF_ASYNC, dcrf, ECHO, ECHOED),
        Case(DCRF_SYNC, dcrf, echo_sync, ECHOED, pipelined=False),
        Case(TYPED, typed, ECHO, ECHOED),
        Case(TYPED_SYNC, typed, echo_sync, ECHOED, pipelined=False),
        Case(TYPED_FIELDS, typed, FIELDS, 8, pipelined=False),
    ]


@dataclass(frozen=True)
class Round:
    """One consumer's timed frames in one round: wall seconds of each round trip, and the
    process's CPU seconds per round trip over all of them (steadier on a shared machine)."""

    seconds: list[float]
    cpu: float


SEQUENTIAL = "sequential"
PIPELINED = "pipelined"


async def run_case(case: Case, messages: int, warmup: int, batch: int) -> Round:
    """The round trips of ``messages`` frames, after ``warmup`` untimed ones, ``batch`` at a
    time (all sent, then all their replies received): each sample is a batch's time over its
    frames."""
    from channels.testing.websocket import WebsocketCommunicator

    communicator = WebsocketCommunicator(case.app, "/ws/")
    connected, _ = await communicator.connect()
    if not connected:
        raise RuntimeError(f"{case.name}: the handshake was refused")
    text = json.dumps(case.frame)
    for _ in range(warmup):
        await communicator.send_to(text_data=text)
        await communicator.receive_from()
    await communicator.send_to(text_data=text)
    answer = json.loads(await communicator.receive_from())
    if answer != json.loads(reply(case.frame, case.data)):
        raise RuntimeError(f"{case.name}: unexpected reply {answer!r}")
    samples: list[float] = []
    gc.collect()
    clock = time.perf_counter
    batches = max(1, messages // batch)
    cpu_start = time.process_time()
    for _ in range(batches):
        start = clock()
        for _ in range(batch):
            await communicator.send_to(text_data=text)
        for _ in range(batch):
            await communicator.receive_from()
        samples.append((clock() - start) / batch)
    cpu = (time.process_time() - cpu_start) / (batches * batch)
    await communicator.disconnect()
    return Round(samples, cpu)


async def measure(
    cases: list[Case], messages: int, rounds: int, batch: int
) -> dict[str, dict[str, list[Round]]]:
    """Every case's rounds, sequential and (where the case says) pipelined; rounds
    interleaved, the order rotated."""
    runs = [(SEQUENTIAL, case, 1) for case in cases]
    runs += [(PIPELINED, case, batch) for case in cases if case.pipelined]
    samples: dict[str, dict[str, list[Round]]] = {SEQUENTIAL: {}, PIPELINED: {}}
    for mode, case, _ in runs:
        samples[mode][case.name] = []
    warmup = max(50, messages // 10)
    for number in range(rounds):
        shift = number % len(runs)
        for mode, case, size in runs[shift:] + runs[:shift]:
            samples[mode][case.name].append(await run_case(case, messages, warmup, size))
    return samples


def summarize(samples: dict[str, list[Round]]) -> dict[str, dict[str, Any]]:
    """In µs per message: the median of the round medians, their range, the pooled p90, and
    the median of the rounds' CPU per message (with its range)."""
    rows: dict[str, dict[str, Any]] = {}
    for name, by_round in samples.items():
        medians = [statistics.median(done.seconds) * 1e6 for done in by_round]
        pooled = [sample for done in by_round for sample in done.seconds]
        cpu = [done.cpu * 1e6 for done in by_round]
        rows[name] = {
            "median_us": statistics.median(medians),
            "round_medians_us": medians,
            "p90_us": statistics.quantiles(pooled, n=10)[-1] * 1e6,
            "cpu_us": statistics.median(cpu),
            "cpu_range_us": [min(cpu), max(cpu)],
        }
    bare = rows[BARE]["median_us"]
    for row in rows.values():
        row["x_bare"] = row["median_us"] / bare
    return rows


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The headline ratios of medians (those of lines not in ``rows`` left out)."""

    def of(first: str, second: str, key: str = "median_us") -> float:
        return float(rows[first][key] / rows[second][key])

    headline = {
        "typed_dcrf async / bare": of(TYPED, BARE),
        "typed_dcrf async / bare without the DB hop": of(TYPED, BARE_NO_HOP),
        "typed_dcrf async / bare without the DB hop, CPU": of(TYPED, BARE_NO_HOP, "cpu_us"),
        "typed_dcrf async / DCRF async": of(TYPED, DCRF_ASYNC),
        "typed_dcrf async / DCRF async, CPU": of(TYPED, DCRF_ASYNC, "cpu_us"),
    }
    if TYPED_SYNC in rows:
        headline["typed_dcrf sync / DCRF sync"] = of(TYPED_SYNC, DCRF_SYNC)
        headline["typed_dcrf 5 arguments / typed_dcrf echo"] = of(TYPED_FIELDS, TYPED)
    return headline


def print_table(rows: dict[str, dict[str, Any]], headline: dict[str, float]) -> None:
    """The results as a small text table, then the headline ratios."""
    width = max(map(len, rows))
    header = (
        f"{'consumer':<{width}}  {'median µs':>9}  {'rounds µs':>13}  {'p90 µs':>7}"
        f"  {'CPU µs':>7}  {'x bare':>6}"
    )
    print(header)
    for name, row in rows.items():
        low, high = min(row["round_medians_us"]), max(row["round_medians_us"])
        print(
            f"{name:<{width}}  {row['median_us']:>9.1f}  {f'{low:.1f}-{high:.1f}':>13}"
            f"  {row['p90_us']:>7.1f}  {row['cpu_us']:>7.1f}  {row['x_bare']:>6.2f}"
        )
    print()
    label_width = max(map(len, headline))
    for label, value in headline.items():
        print(f"{label:<{label_width}}  {value:>5.2f}")


def versions(*more: str) -> dict[str, str]:
    """The interpreter's and the measured packages' versions (``more`` packages too)."""
    packages = ["typed-dcrf", "djangochannelsrestframework", "channels", "Django", "pydantic"]
    packages += more
    return {"python": platform.python_version(), **{name: version(name) for name in packages}}


def main() -> None:
    """Parse the flags, run every case and report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000, help="timed frames per round")
    parser.add_argument("--rounds", type=int, default=15, help="rounds over every consumer")
    parser.add_argument("--batch", type=int, default=50, help="frames per pipelined batch")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args()
    if args.messages < 2 or args.rounds < 1 or args.batch < 2:
        parser.error("--messages and --batch must be at least 2 and --rounds at least 1")
    configure_django()
    cases = build_cases()
    started = time.perf_counter()
    samples = asyncio.run(measure(cases, args.messages, args.rounds, args.batch))
    elapsed = time.perf_counter() - started
    print(f"{args.messages} messages x {args.rounds} rounds per consumer, {elapsed:.1f} s")
    print(", ".join(f"{name} {number}" for name, number in versions().items()))
    result: dict[str, Any] = {"messages": args.messages, "rounds": args.rounds}
    result |= {"batch": args.batch, "versions": versions()}
    for mode, by_case in samples.items():
        rows = summarize(by_case)
        headline = ratios(rows)
        title = mode if mode == SEQUENTIAL else f"{mode}, {args.batch} frames a batch"
        print(f"\n{title}\n")
        print_table(rows, headline)
        result[mode] = {"consumers": rows, "ratios": headline}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
