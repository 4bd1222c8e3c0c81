"""The database going away during actions: PostgreSQL behind a TCP proxy that refuses new
connections or cuts the ones it carries. The client gets a 503 with a generic message, its
connection stays open, and the first action after the database is back works."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from django.db import connection
from websockets.asyncio.client import connect

from tests.app.models import Note
from tests.conftest import require
from tests.server.process import Running, serve, server_environment
from tests.tcp_proxy import TcpProxy, proxy_to
from typed_dcrf import AsyncAPIConsumer, Response, action, db
from typed_dcrf.testing import ApiClient, ErrorReply
from typed_dcrf.types import JSONObject, JSONValue

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DB") != "postgres",
    reason="runs in the PostgreSQL pass (TEST_DB=postgres), in front of PostgreSQL",
)
UNAVAILABLE: list[JSONValue] = ["Service temporarily unavailable, try again later."]
TIMEOUT = 10.0


class Notes(AsyncAPIConsumer):
    @action
    def count(self) -> Response[int]:
        """A sync action: in the database thread."""
        return Response.ok(Note.objects.count())

    @action
    async def count_async(self) -> Response[int]:
        """An async action awaiting the database thread."""
        return Response.ok(await db.run(Note.objects.count))


@pytest.fixture
def proxied(transactional_db: None) -> Iterator[TcpProxy]:
    """The default database reached through a proxy, with persistent connections (so that a
    cut connection is one Django would reuse, unless it closes it); put back before the
    database is flushed."""
    require("PostgreSQL", 5432)
    # Every thread's connection is made from this one settings dict.
    settings = connection.settings_dict
    saved = {key: settings[key] for key in ("PORT", "CONN_MAX_AGE")}
    with proxy_to("127.0.0.1", 5432) as proxy:
        settings.update(PORT=str(proxy.port), CONN_MAX_AGE=None)
        try:
            yield proxy
        finally:
            settings.update(saved)


def close_connection() -> None:
    """Close the calling thread's connection (the next query makes a new one)."""
    connection.close()


async def unavailable(client: ApiClient, name: str) -> None:
    with pytest.raises(ErrorReply) as refused:
        await client.call(Notes.actions[name])
    assert (refused.value.status, refused.value.errors) == (503, UNAVAILABLE)


@pytest.mark.parametrize("name", ["count", "count_async"])
async def test_a_refused_connection_is_a_503_then_the_next_action_works(
    proxied: TcpProxy, name: str
) -> None:
    async with ApiClient(Notes) as client:
        await db.run(close_connection)  # the database thread's connection: made anew
        proxied.refuse()
        await unavailable(client, name)
        await unavailable(client, name)  # the connection is still open
        proxied.listen()
        assert (await client.call(Notes.actions[name])).data == 0
    await db.run(close_connection)


@pytest.mark.parametrize("name", ["count", "count_async"])
async def test_a_cut_connection_is_a_503_and_closed_then_the_next_action_works(
    proxied: TcpProxy, name: str
) -> None:
    async with ApiClient(Notes) as client:
        await db.run(close_connection)
        assert (await client.call(Notes.actions[name])).data == 0
        accepted = proxied.accepted
        proxied.cut()  # the persistent connection is dead
        await unavailable(client, name)
        assert (await client.call(Notes.actions[name])).data == 0
        assert proxied.accepted == accepted + 1  # through a new connection
    await db.run(close_connection)


@pytest.fixture
def server_through(proxied: TcpProxy, tmp_path: Path) -> Iterator[Running]:
    """A uvicorn process on the test's database, through the proxy."""
    environment = server_environment(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.server.postgres_settings",
        TYPED_DCRF_DB_NAME=str(connection.settings_dict["NAME"]),
        TYPED_DCRF_DB_PORT=str(proxied.port),
    )
    with serve("uvicorn", environment, tmp_path / "server.log") as running:
        yield running


async def test_a_real_server_answers_503_while_the_database_is_away_then_works(
    proxied: TcpProxy, server_through: Running
) -> None:
    """Over a real websocket: refused, then cut while the server holds its connection; each
    time a 503 on the open socket, then the next action is answered from the database."""
    url = f"ws://127.0.0.1:{server_through.port}/ws/items/"
    async with connect(url, proxy=None) as client:

        async def status(request_id: int) -> tuple[JSONValue, JSONValue]:
            await client.send(json.dumps({"action": "list", "request_id": request_id}))
            async with asyncio.timeout(TIMEOUT):
                reply = cast("JSONObject", json.loads(await client.recv()))
            assert reply["request_id"] == request_id
            return reply["response_status"], reply["errors"]

        proxied.refuse()
        assert await status(1) == (503, UNAVAILABLE)
        proxied.listen()
        assert await status(2) == (200, [])
        proxied.cut()  # the server's persistent connection is dead
        assert await status(3) == (503, UNAVAILABLE)
        assert await status(4) == (200, [])
