"""The demo in examples/demo, as a visitor meets it: real server processes on 127.0.0.1,
headless Chromium (Debian's, driven by Playwright) in two browser contexts, and a websocket
client for the frames the page never sends.

One process serves SQLite and the in-memory layer (uvicorn and daphne in turn); two processes,
a uvicorn and a daphne, serve one board on PostgreSQL and Redis (``DEMO_SERVICES=1``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, asynccontextmanager
from pathlib import Path
from typing import cast

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.conftest import require
from tests.node import asyncapi_problems, typescript_project
from tests.server.process import (
    ROOT,
    Running,
    Server,
    serve,
    unmeasured_environment,
)
from typed_dcrf.types import JSONObject

DEMO = ROOT / "examples" / "demo"
APP = "demo.asgi:application"
SCREENSHOTS = ROOT / "build" / "screenshots"
BOUND = 10_000
"""Milliseconds within which a change made in one tab shows in the other (and any other
expectation of the page is met)."""
REPLY_TIMEOUT = 10.0
DONE = re.compile(r"\bdone\b")
# Debian's Chromium, started as the machine needs it: as root (no sandbox), and without the
# background connections a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("TEST_DB") == "postgres",
        reason="runs in the SQLite pass: the demo's servers use databases of their own",
    ),
    # One browser at a time: several Chromiums beside the rest of the suite starve 2 cores.
    pytest.mark.xdist_group("browser"),
]
expect.set_options(timeout=BOUND)


def chromium() -> str:
    """Chromium's path; skip without it, except in CI (``scripts/check`` installs it there)."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    reason = "Chromium is not installed (Debian: apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, and CI requires it")
    pytest.skip(reason)


def demo_environment(**extra: str) -> dict[str, str]:
    return {
        **unmeasured_environment(),
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "PYTHONPATH": f"{DEMO}{os.pathsep}{ROOT}",
        **extra,
    }


def migrate(environment: Mapping[str, str]) -> None:
    command = [sys.executable, "manage.py", "migrate", "--verbosity", "0"]
    subprocess.run(command, cwd=DEMO, env=environment, check=True, timeout=120)


def serve_demo(
    kind: Server, environment: Mapping[str, str], log: Path
) -> AbstractContextManager[Running]:
    return serve(kind, environment, log, app=APP, cwd=DEMO)


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """The demo as ``scripts/demo`` serves it: SQLite and the in-memory layer, one process."""
    kind = cast("Server", request.param)
    directory = tmp_path_factory.mktemp(f"demo-{kind}")
    environment = demo_environment(DEMO_DB_FILE=str(directory / "db.sqlite3"))
    migrate(environment)
    with serve_demo(kind, environment, directory / "server.log") as running:
        yield running


@pytest.fixture(scope="module")
def demo_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Running]]:
    """``DEMO_SERVICES=1``: a uvicorn and a daphne process on one PostgreSQL database and one
    Redis layer (a database and a key prefix of this run's own)."""
    require("PostgreSQL", 5432)
    require("Redis", 6379)
    name = f"typed_dcrf_demo_{os.getpid()}"
    environment = demo_environment(
        DEMO_SERVICES="1", DEMO_DB_NAME=name, DEMO_REDIS_PREFIX=f"{name}_{uuid.uuid4().hex}"
    )
    directory = tmp_path_factory.mktemp("demo-services")
    create = [sys.executable, "-m", "demo.create_database"]
    subprocess.run(create, cwd=DEMO, env=environment, check=True, timeout=60)
    try:
        migrate(environment)
        with ExitStack() as servers:
            first = servers.enter_context(serve_demo("uvicorn", environment, directory / "u.log"))
            second = servers.enter_context(serve_demo("daphne", environment, directory / "d.log"))
            yield first, second
    finally:
        drop_database(name)


def drop_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        host="127.0.0.1", dbname="postgres", user="postgres", autocommit=True
    ) as db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@asynccontextmanager
async def browser() -> AsyncGenerator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def open_board(browser: Browser, running: Running, *, user: str | None = None) -> Page:
    """A new browser context on the board, signed in as ``user`` through Django's login form."""
    page = await (await browser.new_context()).new_page()
    await page.goto(f"http://127.0.0.1:{running.port}/")
    if user is not None:
        await page.fill("#login input[name=username]", user)
        await page.fill("#login input[name=password]", "demo")
        async with page.expect_navigation():
            await page.click("#login button")
        await expect(page.locator("#who")).to_have_text(f"Signed in as {user}")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "open")
    return page


async def titles(page: Page) -> list[str]:
    return cast(
        "list[str]",
        await page.eval_on_selector_all("#tasks .title", "els => els.map(e => e.value)"),
    )


async def test_a_change_in_one_tab_shows_in_the_other(demo: Running) -> None:
    """Alice adds, renames, finishes and clears a task; an anonymous visitor's tab follows
    every step within the bound, and its controls stay read-only."""
    async with browser() as chromium_browser:
        alice = await open_board(chromium_browser, demo, user="alice")
        visitor = await open_board(chromium_browser, demo)
        assert await titles(visitor) == await titles(alice)
        assert await visitor.locator("#new-task").is_hidden()
        assert await visitor.locator("#tasks .toggle").first.is_disabled()

        await alice.fill("#new-title", "Buy oat milk")
        await alice.click("#add")
        await expect(visitor.locator("#tasks .title").last).to_have_value("Buy oat milk")

        await visitor.locator("#tasks .follow").last.click()
        await expect(visitor.locator("#selected-title")).to_have_text("Buy oat milk")
        mine = alice.locator("#tasks li").last
        await mine.locator(".title").fill("Buy oat milk and eggs")
        await mine.locator(".title").press("Enter")
        await expect(visitor.locator("#tasks .title").last).to_have_value("Buy oat milk and eggs")
        await expect(visitor.locator("#selected-title")).to_have_text("Buy oat milk and eggs")
        await expect(visitor.locator("#selected-by")).to_have_text("alice")

        await mine.locator(".toggle").check()
        await expect(visitor.locator("#tasks li").last).to_have_class(DONE)
        await expect(visitor.locator("#selected-done")).to_have_text("yes")

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await alice.screenshot(path=SCREENSHOTS / f"demo-board-{demo.kind}.png", full_page=True)

        await alice.click("#clear-done")
        await expect(alice.locator("#message")).to_have_text("1 done task(s) cleared")
        await expect(visitor.locator("#selected-title")).to_have_text("(deleted)")
        # The list's event comes apart from the instance's: wait for it too.
        await expect(visitor.locator("#tasks .title")).to_have_count(3)
        assert await titles(visitor) == await titles(alice)
        assert "Buy oat milk and eggs" not in await titles(visitor)


async def test_a_title_the_action_refuses_is_shown_and_changes_nothing(demo: Running) -> None:
    """rename's validated argument: a blank title is a 400 shown on the page."""
    async with browser() as chromium_browser:
        bob = await open_board(chromium_browser, demo, user="bob")
        first = bob.locator("#tasks li").first
        before = await first.locator(".title").input_value()
        await first.locator(".title").fill("   ")
        await first.locator(".title").press("Enter")
        await expect(bob.locator("#message")).to_have_text(
            "400: title: String should have at least 1 character."
        )
        await bob.reload()
        await expect(bob.locator("#connection")).to_have_attribute("data-state", "open")
        await expect(bob.locator("#tasks .title").first).to_have_value(before)


async def test_two_processes_serve_one_board(demo_pair: tuple[Running, Running]) -> None:
    """With DEMO_SERVICES=1, a tab on the uvicorn process sees what a tab on the daphne one
    does, through PostgreSQL and Redis."""
    first, second = demo_pair
    async with browser() as chromium_browser:
        alice = await open_board(chromium_browser, first, user="alice")
        bob = await open_board(chromium_browser, second, user="bob")
        await bob.fill("#new-title", "Ship the release")
        await bob.click("#add")
        await expect(alice.locator("#tasks .title").last).to_have_value("Ship the release")
        await alice.locator("#tasks .toggle").last.check()
        await expect(bob.locator("#tasks li").last).to_have_class(DONE)


async def ask(url: str, frames: list[JSONObject], replies: int) -> list[JSONObject]:
    """Send ``frames`` on a new socket and return the payloads of the first ``replies``, in
    the order of their request_ids (streams answer independently), then by arrival."""
    # The demo checks the Origin header against ALLOWED_HOSTS, as a browser sends it.
    origin = Origin(url.replace("ws://", "http://"))
    async with connect(url, origin=origin, proxy=None) as socket, asyncio.timeout(REPLY_TIMEOUT):
        for frame in frames:
            await socket.send(json.dumps(frame))
        received = [json.loads(await socket.recv())["payload"] for _ in range(replies)]
    order = [cast("JSONObject", frame["payload"])["request_id"] for frame in frames]
    payloads = [cast("JSONObject", payload) for payload in received]
    return sorted(payloads, key=lambda payload: order.index(payload["request_id"]))


async def test_an_anonymous_socket_reads_and_is_refused_writes(demo: Running) -> None:
    """The frames behind the page: whoami on stream ``me``; on ``tasks``, a list subscription's
    pages and reply for anyone, a 401 for a write without a session."""
    url = f"ws://127.0.0.1:{demo.port}/ws/"
    whoami: JSONObject = {"stream": "me", "payload": {"action": "whoami", "request_id": 1}}
    create: JSONObject = {
        "stream": "tasks",
        "payload": {"action": "create", "data": {"title": "x"}, "request_id": 2},
    }
    clear: JSONObject = {"stream": "tasks", "payload": {"action": "clear_done", "request_id": 3}}
    me, refused, not_cleared = await ask(url, [whoami, create, clear], 3)
    assert me == {
        "errors": [],
        "data": {"username": None, "can_write": False},
        "action": "whoami",
        "response_status": 200,
        "request_id": 1,
    }
    assert refused["response_status"] == 401
    assert refused["errors"] == ["Authentication credentials were not provided."]
    assert not_cleared["response_status"] == 401
    subscribe: JSONObject = {
        "stream": "tasks",
        "payload": {"action": "subscribe_list", "request_id": "board"},
    }
    page, subscribed = await ask(url, [subscribe], 2)
    assert page["response_status"] == 206
    assert subscribed["response_status"] == 201


def test_the_demo_serves_its_asyncapi_document(demo: Running, tmp_path: Path) -> None:
    """/asyncapi.json: the board's two streams, typed from the consumers, accepted by the
    official parser."""
    with urllib.request.urlopen(f"http://127.0.0.1:{demo.port}/asyncapi.json", timeout=10) as got:
        document = json.loads(got.read())
    assert list(document["channels"]) == ["ws.tasks", "ws.me"]
    rename = document["channels"]["ws.tasks"]["messages"]["rename_request"]["payload"]
    title = rename["properties"]["payload"]["properties"]["title"]
    assert (title["minLength"], title["maxLength"]) == (1, 80)
    assert asyncapi_problems(document, tmp_path) == []


def test_the_demo_serves_its_typescript_client(demo: Running) -> None:
    """/client.ts: the client of /asyncapi.json, which compiles with strict TypeScript."""
    with urllib.request.urlopen(f"http://127.0.0.1:{demo.port}/client.ts", timeout=10) as got:
        client = got.read().decode()
    assert "export class WsClient {\n" in client
    assert "  readonly tasks: WsTasksClient;\n" in client
    with typescript_project({"api.ts": client}) as built:
        assert (built / "out" / "api.js").is_file()
