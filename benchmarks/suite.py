"""Every benchmark in one command, then typed_dcrf's ratios beside their targets.

Each scenario runs in a process of its own (``echo.py``, ``crud.py`` on SQLite and on
PostgreSQL, ``server.py``, ``classes.py``, ``fanout.py`` and ``load.py`` on the in-memory layer
and on Redis), writing its results as JSON; each interleaves its contenders itself. PostgreSQL
and Redis scenarios are left out, and said to be, where no server answers on 127.0.0.1 (in CI,
with ``CI=true``, that is an error). ``--smoke`` runs every scenario with the smallest counts, to
show that each works (its figures mean nothing; ``load.py`` still checks every reply and event).
Run from the repository root: ``python benchmarks/suite.py`` (set-up: benchmarks/README.md).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Scenario:
    """One benchmark run: its script, arguments (full and smoke) and the service it needs."""

    name: str
    script: str
    arguments: tuple[str, ...]
    smoke: tuple[str, ...]
    needs: int | None = None  # a port on 127.0.0.1


SCENARIOS = (
    Scenario(
        "echo",
        "echo.py",
        ("--messages", "1000", "--rounds", "9"),
        ("--messages", "20", "--rounds", "1", "--batch", "5"),
    ),
    Scenario(
        "crud-sqlite",
        "crud.py",
        ("--requests", "300", "--rounds", "9"),
        ("--requests", "5", "--rounds", "1"),
    ),
    Scenario(
        "crud-postgres",
        "crud.py",
        ("--database", "postgres", "--requests", "300", "--rounds", "9"),
        ("--database", "postgres", "--requests", "5", "--rounds", "1"),
        needs=5432,
    ),
    Scenario(
        "server",
        "server.py",
        (),
        ("--clients", "5", "--messages", "5", "--rounds", "1", "--connections", "20"),
    ),
    Scenario("classes", "classes.py", (), ("--runs", "1", "--repeats", "1")),
    Scenario(
        "fanout-memory",
        "fanout.py",
        (),
        ("--subscribers", "10,20", "--rounds", "1", "--updates", "1", "--requests", "2"),
    ),
    Scenario(
        "fanout-redis",
        "fanout.py",
        ("--layer", "redis"),
        (
            "--layer",
            "redis",
            "--subscribers",
            "10,20",
            "--rounds",
            "1",
            "--updates",
            "1",
            "--requests",
            "2",
        ),
        needs=6379,
    ),
    # Not timed: it fails (and so does the smoke run) when anything is lost, duplicated or
    # cross-delivered.
    Scenario("load-memory", "load.py", (), ("--connections", "100", "--seconds", "5")),
    Scenario(
        "load-redis",
        "load.py",
        ("--layer", "redis"),
        ("--layer", "redis", "--connections", "100", "--seconds", "5"),
        needs=6379,
    ),
)


@dataclass(frozen=True)
class Target:
    """One ratio of typed_dcrf's, read from a scenario's results, and its bound."""

    scenario: str
    label: str
    read: Callable[[dict[str, Any]], float]
    bound: float
    unit: str = "x"


def crud(action: str, line: str, other: str) -> Callable[[dict[str, Any]], float]:
    return lambda result: float(result["ratios"][f"{action}: {line} / {other}, CPU"])


def fanout(other: str) -> Callable[[dict[str, Any]], float]:
    """typed_dcrf's ratio at the largest subscriber count measured (500 by default)."""

    def read(result: dict[str, Any]) -> float:
        largest = max(result["ratios"], key=int)
        return float(result["ratios"][largest][f"typed_dcrf / {other}"])

    return read


NO_HOP = "bare, no per-message DB hop"
TARGETS = (
    Target(
        "echo",
        "echo, in process, CPU per action / bare without the hop",
        lambda r: r["sequential"]["ratios"]["typed_dcrf async / bare without the DB hop, CPU"],
        1.1,
    ),
    Target(
        "echo",
        "echo, in process, CPU per action / DCRF",
        lambda r: r["sequential"]["ratios"]["typed_dcrf async / DCRF async, CPU"],
        0.45,
    ),
    Target(
        "echo",
        "echo, pipelined, CPU per action / bare without the hop",
        lambda r: r["pipelined"]["ratios"]["typed_dcrf async / bare without the DB hop, CPU"],
        1.1,
    ),
    Target(
        "server",
        "echo, uvicorn, 50 clients, server CPU per message / bare without the hop",
        lambda r: r["ratios"]["server CPU per message: typed_dcrf / bare without the DB hop"],
        1.15,
    ),
    Target(
        "server",
        "echo, uvicorn, 50 clients, server CPU per message / DCRF",
        lambda r: r["ratios"]["server CPU per message: typed_dcrf / DCRF"],
        0.5,
    ),
    Target(
        "crud-sqlite",
        "retrieve, SQLite, CPU / bare without the hop",
        crud("retrieve", "typed_dcrf", NO_HOP),
        1.25,
    ),
    Target(
        "crud-sqlite",
        "retrieve, SQLite, CPU / DCRF",
        crud("retrieve", "typed_dcrf", "DCRF 1.3.0"),
        0.65,
    ),
    Target(
        "crud-postgres",
        "retrieve, PostgreSQL, CPU / bare without the hop",
        crud("retrieve", "typed_dcrf", NO_HOP),
        1.25,
    ),
    Target(
        "crud-postgres",
        "retrieve, PostgreSQL, CPU / DCRF",
        crud("retrieve", "typed_dcrf", "DCRF 1.3.0"),
        0.65,
    ),
    Target(
        "crud-sqlite",
        "100-row list, SQLite, CPU / DCRF",
        crud("list-100", "typed_dcrf", "DCRF 1.3.0"),
        0.5,
    ),
    Target(
        "crud-postgres",
        "100-row list, PostgreSQL, CPU / DCRF",
        crud("list-100", "typed_dcrf", "DCRF 1.3.0"),
        0.5,
    ),
    Target(
        "crud-sqlite",
        "100-row list, typed output, SQLite, CPU / bare without the hop",
        crud("list-100", "typed_dcrf, typed output", NO_HOP),
        1.0,
    ),
    Target(
        "crud-postgres",
        "100-row list, typed output, PostgreSQL, CPU / bare without the hop",
        crud("list-100", "typed_dcrf, typed output", NO_HOP),
        1.0,
    ),
    Target(
        "fanout-memory",
        "fan-out to 500, in-memory layer, time to last / bare without the hop",
        fanout(NO_HOP),
        1.1,
    ),
    Target(
        "fanout-memory",
        "fan-out to 500, in-memory layer, time to last / DCRF",
        fanout("DCRF 1.3.0"),
        0.2,
    ),
    Target(
        "fanout-redis",
        "fan-out to 500, Redis, time to last / bare without the hop",
        fanout(NO_HOP),
        1.1,
    ),
    Target(
        "fanout-redis",
        "fan-out to 500, Redis, time to last / DCRF",
        fanout("DCRF 1.3.0"),
        0.2,
    ),
    Target(
        "classes",
        "a consumer class of 100 typed actions, first in its process",
        lambda r: r["contenders"]["typed_dcrf"]["first_ms"]["median"],
        20,
        "ms",
    ),
    Target(
        "server",
        "idle server memory, typed_dcrf - DCRF",
        lambda r: r["ratios"]["idle memory: typed_dcrf - DCRF, MB"],
        5,
        "MB",
    ),
    Target(
        "server",
        "memory per connection / DCRF",
        lambda r: r["ratios"]["memory per connection: typed_dcrf / DCRF"],
        1.0,
    ),
)


def reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def run(scenario: Scenario, smoke: bool, folder: Path) -> dict[str, Any]:
    """The scenario's results, its output printed as it goes."""
    output = folder / f"{scenario.name}.json"
    arguments = scenario.smoke if smoke else scenario.arguments
    command = [sys.executable, str(HERE / scenario.script), *arguments, "--json", str(output)]
    print(f"== {scenario.name}: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, cwd=HERE.parent)
    print(flush=True)
    result: dict[str, Any] = json.loads(output.read_text())
    return result


def table(results: dict[str, dict[str, Any]], skipped: list[str]) -> str:
    """The targets as a Markdown table: typed_dcrf's figure, the bound, met or not."""
    lines = ["| scenario | typed_dcrf | target | met |", "| --- | ---: | ---: | --- |"]
    for target in TARGETS:
        if target.scenario in skipped:
            lines.append(f"| {target.label} | not run | ≤ {target.bound:g} {target.unit} | — |")
            continue
        value = target.read(results[target.scenario])
        met = "yes" if value <= target.bound else "no"
        number = (
            f"{value:.2f} {target.unit}" if target.unit == "x" else f"{value:.1f} {target.unit}"
        )
        lines.append(f"| {target.label} | {number} | ≤ {target.bound:g} {target.unit} | {met} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="the smallest counts: a check, not a measure"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every result as JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for scenario in SCENARIOS:
            if scenario.needs is not None and not reachable(scenario.needs):
                missing = f"nothing answers on 127.0.0.1:{scenario.needs}"
                if os.environ.get("CI") == "true":
                    sys.exit(f"{scenario.name}: {missing}, and CI requires it")
                print(f"== {scenario.name}: left out, {missing}\n")
                skipped.append(scenario.name)
                continue
            results[scenario.name] = run(scenario, args.smoke, Path(folder))
    kind = "smoke run (figures mean nothing)" if args.smoke else "run"
    print(f"== targets, one {kind}, {time.perf_counter() - started:.0f} s\n")
    print(table(results, skipped))
    if args.json:
        args.json.write_text(json.dumps({"smoke": args.smoke, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
