"""The README's quick start, run as printed: a project made by ``startproject``, each code block
written to the file its first line names (appended to ``settings.py``), its test run by
pytest, and the project served by uvicorn and daphne for a websocket client."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.node import node_with_packages, typescript_project
from tests.server.process import (
    ROOT,
    Running,
    Server,
    run_unmeasured,
    serve,
    unmeasured_environment,
)
from typed_dcrf.types import JSONObject

README = ROOT / "README.md"
BLOCK = re.compile(
    r"```(?:python|toml)\n# (?P<path>\S+)(?P<how> \(added at the end\))?\n(?P<code>.*?)```", re.S
)
TIMEOUT = 120


def quick_start() -> str:
    return section("## Quick start\n", "## The demo\n")


def section(start: str, end: str) -> str:
    text = README.read_text()
    return text[text.index(start) : text.index(end)]


def project_environment() -> dict[str, str]:
    environment = unmeasured_environment()
    environment.pop("DJANGO_SETTINGS_MODULE", None)  # the project's own, from its files
    return environment


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_unmeasured(command, cwd=cwd, environment=project_environment(), timeout=TIMEOUT)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quick start's project, as a user makes it from the README."""
    directory = tmp_path_factory.mktemp("mysite")
    made = run([sys.executable, "-m", "django", "startproject", "mysite", "."], directory)
    assert made.returncode == 0, made.stderr
    blocks = list(BLOCK.finditer(quick_start()))
    assert [block["path"] for block in blocks] == [
        "mysite/consumers.py",
        "mysite/settings.py",
        "mysite/asgi.py",
        "pyproject.toml",
        "tests/test_greeter.py",
    ]
    for block in blocks:
        target = directory / block["path"]
        target.parent.mkdir(exist_ok=True)
        code = f"# {block['path']}\n{block['code']}"
        if block["how"]:
            code = target.read_text() + "\n" + code
        target.write_text(code)
    migrated = run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], directory)
    assert migrated.returncode == 0, migrated.stderr
    return directory


def test_the_quick_starts_test_passes(project: Path) -> None:
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.fixture(params=["uvicorn", "daphne"])
def served(request: pytest.FixtureRequest, project: Path) -> Iterator[Running]:
    kind = cast("Server", request.param)
    with serve(
        kind,
        project_environment(),
        project / f"{kind}.log",
        app="mysite.asgi:application",
        cwd=project,
    ) as running:
        yield running


async def test_the_quick_start_answers_as_printed(served: Running) -> None:
    url = f"ws://127.0.0.1:{served.port}/ws/"
    origin = Origin(f"http://127.0.0.1:{served.port}")
    async with connect(url, origin=origin, proxy=None) as socket, asyncio.timeout(TIMEOUT):
        await socket.send(
            json.dumps({"action": "greet", "name": "Ada", "times": 2, "request_id": 1})
        )
        greeted = cast("JSONObject", json.loads(await socket.recv()))
        await socket.send(json.dumps({"action": "greet", "name": "x" * 21, "request_id": 2}))
        refused = cast("JSONObject", json.loads(await socket.recv()))
    assert greeted == {
        "errors": [],
        "data": {"text": "Hello, Ada! Hello, Ada!", "times": 2},
        "action": "greet",
        "response_status": 200,
        "request_id": 1,
    }
    assert refused["response_status"] == 400
    assert refused["errors"] == [{"name": ["String should have at most 20 characters."]}]


TS_BLOCK = re.compile(r"```ts\n// (?P<path>\S+)\n(?P<code>.*?)```", re.S)
TS_REFUSED = """\
import { Connection, WsClient } from "./api.js";

declare const connection: Connection;
const greeter = new WsClient(connection);
// @ts-expect-error: a name is a string
void greeter.greet({ name: 1 });
// @ts-expect-error: the name is required
void greeter.greet({});
// @ts-expect-error: a misspelt argument
void greeter.greet({ name: "Ada", tiems: 2 });
"""


def test_the_typescript_client_runs_as_printed(project: Path, served: Running) -> None:
    """The Contracts section's command writes frontend/api.ts; its example compiles with it
    (and the misuses the README names do not), and runs against the served quick start."""
    generated = run(
        [sys.executable, "manage.py", "typescript_client", "-o", "frontend/api.ts"], project
    )
    assert generated.returncode == 0, generated.stderr
    contracts = section("### A typed TypeScript client\n", "## Migrating from DCRF\n")
    [block] = TS_BLOCK.finditer(contracts)
    assert block["path"] == "frontend/greet.ts"
    example = block["code"].replace("127.0.0.1:8000", f"127.0.0.1:{served.port}")
    files = {
        "api.ts": (project / "frontend" / "api.ts").read_text(),
        "greet.ts": example,
        "refused.ts": TS_REFUSED,
    }
    with typescript_project(files) as built:
        ran = run_unmeasured([node_with_packages(), "out/greet.js"], cwd=built, timeout=30)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines() == [
        "Hello, Ada! Hello, Ada! 2",
        '400 [{"name":["String should have at most 20 characters."]}]',
    ]
