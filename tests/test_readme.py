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
    text = README.read_text()
    return text[text.index("## Quick start\n") : text.index("## The demo\n")]


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
