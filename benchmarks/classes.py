"""Import and class-creation time: a consumer with 100 typed actions, typed_dcrf against DCRF 1.3.0.

Each measurement runs in a fresh interpreter (``--runs`` of them per contender, interleaved):
Django set up, then the contender's consumer module imported (timed), then a consumer class of
``--actions`` actions defined from source (timed: the first definition in the process, then
the median of ``--repeats`` more). The actions' signatures cycle through ten kinds of
arguments (ints, strings, optional and defaulted values, lists, dicts, literals, dataclasses,
TypedDicts), each action with its own names, and return ten kinds of data.
Run from the repository root: ``python benchmarks/classes.py`` (set-up: benchmarks/README.md).
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from echo import configure_django, versions

TYPED = "typed_dcrf"
DCRF = "DCRF 1.3.0"
CONTENDERS = (TYPED, DCRF)

# Ten kinds of typed parameters (each action's own names: {n}) and of returned data.
PARAMETERS = (
    "count_{n}: int",
    "name_{n}: str, flag_{n}: bool = False",
    "ids_{n}: list[int]",
    "label_{n}: str | None = None",
    "scores_{n}: dict[str, float]",
    "mode_{n}: Literal['a', 'b', 'c']",
    "point_{n}: Point",
    "query_{n}: Query",
    "limit_{n}: int = 10, offset_{n}: int = 0",
    "ratio_{n}: float, tags_{n}: list[str] | None = None",
)
RETURNS = (
    "int",
    "str",
    "list[int]",
    "str | None",
    "dict[str, float]",
    "bool",
    "Point",
    "Query",
    "list[Point]",
    "None",
)

TYPED_HEADER = """\
from dataclasses import dataclass
from typing import Literal

from typing_extensions import TypedDict

from typed_dcrf import AsyncAPIConsumer, Response, action


@dataclass
class Point:
    x: float
    y: float


class Query(TypedDict):
    text: str
    page: int
"""


def typed_source(actions: int) -> str:
    """A module defining ``Consumer``: ``actions`` typed actions."""
    lines = [TYPED_HEADER, "", "class Consumer(AsyncAPIConsumer):"]
    for n in range(actions):
        parameters = PARAMETERS[n % len(PARAMETERS)].format(n=n)
        returned = RETURNS[(n // len(PARAMETERS) + n) % len(RETURNS)]
        lines += [
            "    @action()",
            f"    async def action_{n}(self, {parameters}) -> Response[{returned}]:",
            "        raise NotImplementedError",
            "",
        ]
    return "\n".join(lines)


def dcrf_source(actions: int) -> str:
    """The same actions for DCRF, which takes the frame's keys as keyword arguments."""
    lines = [
        "from djangochannelsrestframework.consumers import AsyncAPIConsumer",
        "from djangochannelsrestframework.decorators import action",
        "",
        "",
        "class Consumer(AsyncAPIConsumer):",
    ]
    for n in range(actions):
        names = re.findall(r"(\w+)_\{n\}:", PARAMETERS[n % len(PARAMETERS)])
        parameters = ", ".join(f"{name}_{n}" for name in names)
        lines += [
            "    @action()",
            f"    async def action_{n}(self, {parameters}, **kwargs):",
            "        raise NotImplementedError",
            "",
        ]
    return "\n".join(lines)


def child(contender: str, actions: int, repeats: int) -> dict[str, Any]:
    """In a fresh interpreter: the import, the first class and the later classes, in ms."""
    configure_django()
    clock = time.perf_counter
    start = clock()
    if contender == TYPED:
        import typed_dcrf.consumers  # noqa: F401

        source = typed_source(actions)
    else:
        import djangochannelsrestframework.consumers  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401

        source = dcrf_source(actions)
    imported = clock() - start
    code = compile(source, f"<{contender} consumer>", "exec")
    times: list[float] = []
    for _ in range(1 + repeats):
        namespace: dict[str, Any] = {"__name__": "bench_consumers"}
        start = clock()
        exec(code, namespace)
        times.append(clock() - start)
    first, *later = times
    return {
        "import_ms": imported * 1e3,
        "first_ms": first * 1e3,
        "later_ms": later and statistics.median(later) * 1e3,
    }


def measure(actions: int, runs: int, repeats: int) -> dict[str, list[dict[str, Any]]]:
    """Every contender's runs, each a fresh interpreter, interleaved."""
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    for number in range(runs):
        order = CONTENDERS if number % 2 == 0 else CONTENDERS[::-1]
        for contender in order:
            command = [sys.executable, __file__, "--child", contender]
            command += ["--actions", str(actions), "--repeats", str(repeats)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            samples[contender].append(json.loads(done.stdout))
    return samples


def summarize(samples: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per contender and measure: the median over runs and its range."""
    rows: dict[str, dict[str, Any]] = {}
    for name, runs in samples.items():
        rows[name] = {}
        for key in ("import_ms", "first_ms", "later_ms"):
            values = [run[key] for run in runs]
            rows[name][key] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
    return rows


def print_table(rows: dict[str, dict[str, Any]], actions: int) -> None:
    labels = {
        "import_ms": "import",
        "first_ms": f"first class, {actions} actions",
        "later_ms": "later classes",
    }
    width = max(map(len, labels.values()))
    print(f"{'ms':<{width}}  " + "  ".join(f"{name:>22}" for name in rows))
    for key, label in labels.items():
        cells = []
        for row in rows.values():
            cell = row[key]
            cells.append(f"{cell['median']:>7.1f} ({cell['min']:.1f}-{cell['max']:.1f})")
        print(f"{label:<{width}}  " + "  ".join(f"{cell:>22}" for cell in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--actions", type=int, default=100, help="actions of the consumer")
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per contender")
    parser.add_argument("--repeats", type=int, default=5, help="classes after the first, per run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.actions, args.repeats)))
        return
    started = time.perf_counter()
    rows = summarize(measure(args.actions, args.runs, args.repeats))
    print(f"{args.runs} fresh interpreters per contender, {time.perf_counter() - started:.1f} s")
    print(", ".join(f"{name} {number}" for name, number in versions().items()))
    print()
    print_table(rows, args.actions)
    if args.json:
        result = {
            "actions": args.actions,
            "runs": args.runs,
            "versions": versions(),
            "contenders": rows,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
