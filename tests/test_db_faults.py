"""The database going away during actions: PostgreSQL behind a TCP proxy that refuses new
connections or cuts the ones it carries. The client gets a 503 with a generic message, its
connection stays open, and the first action after the database is back works."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.db import connection

from tests.app.models import Note
from tests.conftest import require
from tests.tcp_proxy import TcpProxy, proxy_to
from typed_dcrf import AsyncAPIConsumer, Response, action, db
from typed_dcrf.testing import ApiClient, ErrorReply

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DB") != "postgres",
    reason="runs in the PostgreSQL pass (TEST_DB=postgres), in front of PostgreSQL",
)
UNAVAILABLE = ["Service temporarily unavailable, try again later."]


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
