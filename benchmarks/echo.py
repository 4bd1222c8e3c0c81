"""Per-action overhead of typed_dcrf, against a bare channels consumer and DCRF 1.3.0.

Every consumer answers the same frame with the same five-key envelope. Each is driven in-process
through channels' ``WebsocketCommunicator``, one frame at a time (send, then receive), in the
same run, rounds interleaved, so that the ratios compare like with like.
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

ECHO = {"action": "echo", "request_id": 7, "text": "hello"}
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


def configure_django(*apps: str, **overrides: Any) -> None:
    """Minimal settings: in-memory SQLite, no channel layer, the apps DCRF imports and ``apps``;
    ``overrides`` replace or add settings."""
    settings.configure(
        SECRET_KEY="benchmark",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "channels",
            "rest_framework",
            *apps,
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        **{
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
        text = reply(frame, frame["text"])
        # The communicator wants "text" or "bytes" alone; asgiref's TypedDict wants both.
        await send(cast("ASGISendEvent", {"type": "websocket.send", "text": text}))


def build_cases() -> list[Case]:
    """The consumers, defined once Django is set up (their imports need the app registry)."""
    from channels.consumer import get_handler_name
    from channels.generic.websocket import AsyncWebsocketConsumer

    # DCRF ships no type information (and the project's own venv does not install it).
    from djangochannelsrestframework.consumers import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        AsyncAPIConsumer as DCRFConsumer,
    )
    from djangochannelsrestframework.decorators import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        action as dcrf_action,
    )

    from typed_dcrf import AsyncAPIConsumer, Response, action

    class Bare(AsyncWebsocketConsumer):
        """The echo by hand, on channels' own dispatch (a DB-thread hop per message)."""

        async def receive(
            self, text_data: str | None = None, bytes_data: bytes | None = None
        ) -> None:
            frame = json.loads(text_data or "")
            await self.send(reply(frame, frame["text"]))

    class BareNoHop(Bare):
        """The same, dispatching without channels' per-message ``aclose_old_connections``."""

        async def dispatch(self, message: dict[str, Any]) -> None:
            await getattr(self, get_handler_name(message))(message)

    class DCRF(DCRFConsumer):  # type: ignore[misc]
        """DCRF 1.3.0: async and sync echo actions."""

        @dcrf_action()  # type: ignore[untyped-decorator]
        async def echo(self, text: str, **kwargs: Any) -> tuple[str, int]:
            return text, 200

        @dcrf_action()  # type: ignore[untyped-decorator]
        def echo_sync(self, text: str, **kwargs: Any) -> tuple[str, int]:
            return text, 200

    class Typed(AsyncAPIConsumer):
        """typed_dcrf: async, sync and five-argument actions."""

        @action()
        async def echo(self, text: str) -> Response[str]:
            return Response.ok(text)

        @action()
        def echo_sync(self, text: str) -> Response[str]:
            return Response.ok(text)

        @action()
        async def fields(
            self, count: int, name: str, flag: bool, ratio: float, ids: list[int]
        ) -> Response[int]:
            return Response.ok(count + len(ids))

    echo_sync = {**ECHO, "action": "echo_sync"}
    return [
        Case(RAW, raw_echo, ECHO, "hello"),
        Case(BARE, Bare.as_asgi(), ECHO, "hello"),
        Case(BARE_NO_HOP, BareNoHop.as_asgi(), ECHO, "hello"),
        Case(DCRF_ASYNC, DCRF.as_asgi(), ECHO, "hello"),
        Case(DCRF_SYNC, DCRF.as_asgi(), echo_sync, "hello"),
        Case(TYPED, Typed.as_asgi(), ECHO, "hello"),
        Case(TYPED_SYNC, Typed.as_asgi(), echo_sync, "hello"),
        Case(TYPED_FIELDS, Typed.as_asgi(), FIELDS, 8),
    ]


@dataclass(frozen=True)
class Round:
    """One consumer's timed frames in one round: wall seconds of each round trip, and the
    process's CPU seconds per round trip over all of them (steadier on a shared machine)."""

    seconds: list[float]
    cpu: float


async def run_case(case: Case, messages: int, warmup: int) -> Round:
    """The round trips of ``messages`` frames, after ``warmup`` untimed ones."""
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
    cpu_start = time.process_time()
    for _ in range(messages):
        start = clock()
        await communicator.send_to(text_data=text)
        await communicator.receive_from()
        samples.append(clock() - start)
    cpu = (time.process_time() - cpu_start) / messages
    await communicator.disconnect()
    return Round(samples, cpu)


async def measure(cases: list[Case], messages: int, rounds: int) -> dict[str, list[Round]]:
    """Every case's rounds; rounds interleaved, the order rotated."""
    samples: dict[str, list[Round]] = {case.name: [] for case in cases}
    warmup = max(50, messages // 10)
    for number in range(rounds):
        shift = number % len(cases)
        for case in cases[shift:] + cases[:shift]:
            samples[case.name].append(await run_case(case, messages, warmup))
    return samples


def summarize(samples: dict[str, list[Round]]) -> dict[str, dict[str, Any]]:
    """In µs per message: the median of the round medians, their range, the pooled p90, and
    the median of the rounds' CPU per message."""
    rows: dict[str, dict[str, Any]] = {}
    for name, by_round in samples.items():
        medians = [statistics.median(done.seconds) * 1e6 for done in by_round]
        pooled = [sample for done in by_round for sample in done.seconds]
        rows[name] = {
            "median_us": statistics.median(medians),
            "round_medians_us": medians,
            "p90_us": statistics.quantiles(pooled, n=10)[-1] * 1e6,
            "cpu_us": statistics.median(done.cpu * 1e6 for done in by_round),
        }
    bare = rows[BARE]["median_us"]
    for row in rows.values():
        row["x_bare"] = row["median_us"] / bare
    return rows


def ratios(rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The headline ratios of medians."""

    def of(first: str, second: str, key: str = "median_us") -> float:
        return float(rows[first][key] / rows[second][key])

    return {
        "typed_dcrf async / bare": of(TYPED, BARE),
        "typed_dcrf async / bare without the DB hop": of(TYPED, BARE_NO_HOP),
        "typed_dcrf async / bare without the DB hop, CPU": of(TYPED, BARE_NO_HOP, "cpu_us"),
        "typed_dcrf async / DCRF async": of(TYPED, DCRF_ASYNC),
        "typed_dcrf async / DCRF async, CPU": of(TYPED, DCRF_ASYNC, "cpu_us"),
        "typed_dcrf sync / DCRF sync": of(TYPED_SYNC, DCRF_SYNC),
        "typed_dcrf 5 arguments / typed_dcrf echo": of(TYPED_FIELDS, TYPED),
    }


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
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args()
    if args.messages < 2 or args.rounds < 1:
        parser.error("--messages must be at least 2 and --rounds at least 1")
    configure_django()
    cases = build_cases()
    started = time.perf_counter()
    samples = asyncio.run(measure(cases, args.messages, args.rounds))
    elapsed = time.perf_counter() - started
    rows = summarize(samples)
    headline = ratios(rows)
    print(f"{args.messages} messages x {args.rounds} rounds per consumer, {elapsed:.1f} s")
    print(", ".join(f"{name} {number}" for name, number in versions().items()))
    print()
    print_table(rows, headline)
    if args.json:
        result = {"messages": args.messages, "rounds": args.rounds, "versions": versions()}
        result |= {"consumers": rows, "ratios": headline}
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
