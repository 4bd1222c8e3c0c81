"""A real server: uvicorn on 127.0.0.1, 50 websocket clients in another process, per line.

Each line of ``echo.py`` (bare, bare without the hop, DCRF 1.3.0, typed_dcrf: the echo of three
arguments) is served by its own uvicorn process (``server_app.py``), all started at once. Each
round drives every server in turn, in an order rotated every round, twice: ``--clients``
connections, each sending ``--messages`` frames one at a time (send, then wait for the reply),
all clients at once, first as fast as they can (the throughput), then paced at ``--rate``
messages per second in all, which every server keeps up with (so that each server's CPU per
message is measured under the same load: a saturated server also pays for waking clients that
wait on it, which a faster one finds busy). Reported per line: messages per second at full
speed, the p50 and p99 of the paced round trips, and the server's CPU time per message, paced
and at full speed (its process's user and system time, from ``/proc``: Linux). And memory,
measured first, on the fresh servers: each one's resident set once idle (after one
connection's echo), and what 1,000 more connections, each answered once, add per connection.
Run from the repository root: ``python benchmarks/server.py`` (set-up: benchmarks/README.md).
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from echo import BARE, BARE_NO_HOP, DCRF_ASYNC, ECHO, ECHOED, TYPED, reply, versions

LINES = (BARE, BARE_NO_HOP, DCRF_ASYNC, TYPED)
HERE = Path(__file__).parent
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Server:
    """One line's uvicorn process."""

    line: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def cpu_seconds(self) -> float:
        """The process's user and system CPU time so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def resident_bytes(self) -> int:
        """The process's resident set size."""
        return int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1]) * PAGE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(line: str) -> Server:
    """uvicorn serving ``line``, once it accepts connections."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "server_app:application", "--app-dir", str(HERE)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
    command += ["--log-level", "warning", "--ws", "websockets-sansio"]
    process = subprocess.Popen(command, env={**os.environ, "BENCH_LINE": line})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return Server(line, port, process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{line}: uvicorn did not start")


async def client(
    url: str, messages: int, text: str, latencies: list[float], period: float, offset: float
) -> None:
    """One connection sending ``messages`` frames, one at a time, each reply checked once; a
    frame every ``period`` seconds (from ``offset`` on), or at once after the reply if 0."""
    import websockets

    expected = json.loads(reply(ECHO, ECHOED))
    clock = time.perf_counter
    async with websockets.connect(url, max_queue=None) as socket_:
        await socket_.send(text)
        if json.loads(await socket_.recv()) != expected:
            raise RuntimeError(f"{url}: unexpected reply")
        due = clock() + offset
        for _ in range(messages):
            if period:
                await asyncio.sleep(max(0.0, due - clock()))
                due += period
            start = clock()
            await socket_.send(text)
            await socket_.recv()
            latencies.append(clock() - start)


async def drive(server: Server, clients: int, messages: int, rate: float) -> dict[str, float]:
    """One run against ``server``: every client at once, at ``rate`` messages per second in
    all (0: as fast as they can)."""
    text = json.dumps(ECHO)
    latencies: list[float] = []
    period = clients / rate if rate else 0.0
    runs = [
        client(server.url, messages, text, latencies, period, period * number / clients)
        for number in range(clients)
    ]
    cpu = server.cpu_seconds()
    start = time.perf_counter()
    await asyncio.gather(*runs)
    elapsed = time.perf_counter() - start
    used = server.cpu_seconds() - cpu
    count = clients * messages
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "messages_per_s": count / elapsed,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": cuts[98] * 1e3,
        "server_cpu_us": used / count * 1e6,
    }


async def both(server: Server, clients: int, messages: int, rate: float) -> dict[str, float]:
    """A round against ``server``: at full speed (throughput and CPU), then paced (latency and
    CPU)."""
    full = await drive(server, clients, messages, 0)
    paced = await drive(server, clients, messages, rate)
    return {
        "messages_per_s": full["messages_per_s"],
        "full_speed_server_cpu_us": full["server_cpu_us"],
        "p50_ms": paced["p50_ms"],
        "p99_ms": paced["p99_ms"],
        "server_cpu_us": paced["server_cpu_us"],
    }


async def memory(server: Server, connections: int) -> dict[str, float]:
    """The server's resident set idle, and its growth per connection with ``connections``
    open (each answered once)."""
    import websockets

    text = json.dumps(ECHO)
    async with websockets.connect(server.url) as first:
        await first.send(text)
        await first.recv()
    await asyncio.sleep(0.5)
    idle = server.resident_bytes()
    sockets = []
    try:
        for _ in range(connections):
            opened = await websockets.connect(server.url)
            sockets.append(opened)
            await opened.send(text)
            await opened.recv()
        await asyncio.sleep(0.5)
        loaded = server.resident_bytes()
    finally:
        await asyncio.gather(*(opened.close() for opened in sockets))
    return {"idle_mb": idle / 2**20, "per_connection_kb": (loaded - idle) / connections / 2**10}


async def measure(
    servers: list[Server], args: argparse.Namespace
) -> tuple[dict[str, list[dict[str, float]]], dict[str, dict[str, float]]]:
    """Every server's memory, then its rounds, interleaved, the order rotated."""
    clients, messages = args.clients, args.messages
    # Memory first, while the servers are fresh (after a load, a process keeps what it grew).
    memories = {server.line: await memory(server, args.connections) for server in servers}
    for server in servers:  # warm-up
        await drive(server, clients, max(10, messages // 10), 0)
    samples: dict[str, list[dict[str, float]]] = {server.line: [] for server in servers}
    for number in range(args.rounds):
        shift = number % len(servers)
        for server in servers[shift:] + servers[:shift]:
            samples[server.line].append(await both(server, clients, messages, args.rate))
    return samples, memories


def summarize(samples: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Per line and measure: the median over rounds, with the range."""
    rows: dict[str, dict[str, Any]] = {}
    for line, by_round in samples.items():
        rows[line] = {}
        for key in by_round[0]:
            values = [done[key] for done in by_round]
            rows[line][key] = statistics.median(values)
            rows[line][f"{key}_range"] = [min(values), max(values)]
    return rows


def ratios(
    rows: dict[str, dict[str, Any]], memories: dict[str, dict[str, float]]
) -> dict[str, float]:
    def of(first: str, second: str, key: str, table: dict[str, Any]) -> float:
        # CPU time comes in clock ticks (10 ms): a very short run may measure none.
        divisor = table[second][key]
        return float(table[first][key] / divisor) if divisor else float("nan")

    return {
        "server CPU per message: typed_dcrf / bare without the DB hop": of(
            TYPED, BARE_NO_HOP, "server_cpu_us", rows
        ),
        "server CPU per message: typed_dcrf / DCRF": of(TYPED, DCRF_ASYNC, "server_cpu_us", rows),
        "messages/s: typed_dcrf / DCRF": of(TYPED, DCRF_ASYNC, "messages_per_s", rows),
        "memory per connection: typed_dcrf / DCRF": of(
            TYPED, DCRF_ASYNC, "per_connection_kb", memories
        ),
        "idle memory: typed_dcrf - DCRF, MB": memories[TYPED]["idle_mb"]
        - memories[DCRF_ASYNC]["idle_mb"],
    }


def print_tables(
    rows: dict[str, dict[str, Any]],
    memories: dict[str, dict[str, float]],
    headline: dict[str, float],
) -> None:
    width = max(map(len, rows))
    print(
        f"{'line':<{width}}  {'msg/s':>7}  {'p50 ms':>7}  {'p99 ms':>7}  {'server CPU µs':>15}"
        f"  {'at full speed':>13}  {'idle MB':>7}  {'KB/conn':>7}"
    )
    for line, row in rows.items():
        low, high = row["server_cpu_us_range"]
        cpu = f"{row['server_cpu_us']:.1f} ({low:.0f}-{high:.0f})"
        print(
            f"{line:<{width}}  {row['messages_per_s']:>7.0f}  {row['p50_ms']:>7.2f}"
            f"  {row['p99_ms']:>7.2f}  {cpu:>15}  {row['full_speed_server_cpu_us']:>13.1f}"
            f"  {memories[line]['idle_mb']:>7.1f}  {memories[line]['per_connection_kb']:>7.1f}"
        )
    print()
    label_width = max(map(len, headline))
    for label, value in headline.items():
        print(f"{label:<{label_width}}  {value:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent connections")
    parser.add_argument("--messages", type=int, default=200, help="frames per client per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over every server")
    parser.add_argument(
        "--rate", type=float, default=4000, help="messages per second in all, paced runs"
    )
    parser.add_argument(
        "--connections", type=int, default=1000, help="connections held for the memory measure"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args()
    if min(args.clients, args.messages, args.rounds, args.connections, args.rate) <= 0:
        parser.error("every count must be at least 1")
    servers = [start(line) for line in LINES]
    try:
        started = time.perf_counter()
        samples, memories = asyncio.run(measure(servers, args))
        elapsed = time.perf_counter() - started
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            server.process.wait(10)
    rows = summarize(samples)
    headline = ratios(rows, memories)
    print(
        f"uvicorn, {args.clients} clients x {args.messages} messages x {args.rounds} rounds per"
        f" line, paced at {args.rate:g}/s, {args.connections} connections for memory,"
        f" {elapsed:.1f} s"
    )
    print(
        ", ".join(f"{name} {number}" for name, number in versions("uvicorn", "websockets").items())
    )
    print()
    print_tables(rows, memories, headline)
    if args.json:
        result = {"clients": args.clients, "messages": args.messages, "rounds": args.rounds}
        result |= {"rate": args.rate}
        result |= {"connections": args.connections, "versions": versions("uvicorn", "websockets")}
        result |= {"lines": rows, "memory": memories, "ratios": headline}
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
