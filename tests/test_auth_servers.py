"""Authentication on real servers: uvicorn and daphne serving tests/server/auth_asgi.py on
127.0.0.1, with the Redis layer, driven by a real websocket client. A session logged in over
HTTP, a token as subprotocols or in the query string, the origin check, and a logout (over
HTTP) or a deactivation (in another process) observed by a connection left open."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import cast
from urllib.parse import urlencode

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from tests.conftest import require
from tests.frames import envelope
from tests.server.process import ROOT, Running, Server, migrate, serve, server_environment
from typed_dcrf._access import LOST
from typed_dcrf.types import JSONObject, JSONValue

TIMEOUT = 10.0
"""Seconds for any one reply or process: far more than one needs, so only a lost one fails."""
PASSWORD = "a password"
NOT_AUTHENTICATED: list[JSONValue] = ["Authentication credentials were not provided."]


@dataclass(frozen=True)
class Site:
    """A server process, and the environment of the processes sharing its database."""

    running: Running
    environment: Mapping[str, str]

    @property
    def origin(self) -> Origin:
        return Origin(f"http://127.0.0.1:{self.running.port}")

    def manage(self, code: str) -> str:
        """Run ``code`` in a Django shell of its own process (the server's settings)."""
        command = [sys.executable, "-m", "django", "shell", "--verbosity", "0", "-c", code]
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=dict(self.environment),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def user(self, name: str) -> str:
        """Create the user ``name`` (with a token and an item); the token's key."""
        return self.manage(
            "from django.contrib.auth.models import User\n"
            "from rest_framework.authtoken.models import Token\n"
            "from tests.app.models import Item\n"
            f"user = User.objects.create_user({name!r}, password={PASSWORD!r})\n"
            f"Item.objects.create(name={name!r}, slug={name!r})\n"
            "print(Token.objects.create(user=user).key)"
        )

    def item(self, name: str) -> int:
        code = f"from tests.app.models import Item\nprint(Item.objects.get(slug={name!r}).pk)"
        return int(self.manage(code))

    def post(
        self, path: str, form: Mapping[str, str], cookie: str = ""
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.running.port, timeout=TIMEOUT)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = cookie
        connection.request("POST", path, body=urlencode(form), headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    def login(self, name: str) -> str:
        """Log ``name`` in through the login view, as a browser does; its session cookie."""
        response = self.post("/login/", {"username": name, "password": PASSWORD})
        assert response.status == 204
        cookie = SimpleCookie(response.getheader("Set-Cookie", ""))
        return f"sessionid={cookie['sessionid'].value}"


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    if os.environ.get("TEST_DB") == "postgres":
        pytest.skip("runs in the SQLite pass: the servers use a SQLite file of their own")
    require("Redis", 6379)
    kind = cast("Server", request.param)
    directory = tmp_path_factory.mktemp(f"auth-{kind}")
    environment = server_environment(
        directory,
        DJANGO_SETTINGS_MODULE="tests.server.auth_settings",
        TEST_LAYER="redis",
        TYPED_DCRF_REDIS_PREFIX=f"typed_dcrf_auth_{os.getpid()}_{kind}_{directory.name}",
    )
    migrate(environment)
    app = "tests.server.auth_asgi:application"
    with serve(kind, environment, directory / "server.log", app=app) as running:
        yield Site(running, environment)


@asynccontextmanager
async def socket_to(
    site: Site,
    path: str = "/ws/items/",
    *,
    cookie: str = "",
    subprotocols: Sequence[str] = (),
    origin: Origin | None = None,
    send_origin: bool = True,
) -> AsyncGenerator[ClientConnection]:
    url = f"ws://127.0.0.1:{site.running.port}{path}"
    async with connect(
        url,
        origin=(origin or site.origin) if send_origin else None,
        subprotocols=[Subprotocol(name) for name in subprotocols] or None,
        additional_headers={"Cookie": cookie} if cookie else None,
        compression=None,
        proxy=None,
        open_timeout=TIMEOUT,
        close_timeout=2,
    ) as client:
        yield client


async def receive(client: ClientConnection) -> JSONObject:
    async with asyncio.timeout(TIMEOUT):
        return cast("JSONObject", json.loads(await client.recv()))


async def ask(client: ClientConnection, action: str, **arguments: JSONValue) -> JSONObject:
    await client.send(json.dumps({"action": action, "request_id": action, **arguments}))
    return await receive(client)


async def subscribe(client: ClientConnection, pk: int) -> None:
    frame = {"action": "subscribe_instance", "request_id": "watch", "pk": pk}
    await client.send(json.dumps(frame))
    assert await receive(client) == envelope("subscribe_instance", 201, request_id="watch")


LOST_FRAME = envelope("subscribe_instance", 401, errors=[LOST], request_id="watch")
REFUSED_ACTION = envelope("whoami", 401, errors=NOT_AUTHENTICATED, request_id="whoami")


async def test_a_session_logged_in_over_http_authenticates_the_websocket(site: Site) -> None:
    await asyncio.to_thread(site.user, "ann")
    cookie = await asyncio.to_thread(site.login, "ann")
    async with socket_to(site, cookie=cookie) as client:
        assert client.subprotocol is None
        assert (await ask(client, "whoami"))["data"] == "ann"


async def test_a_token_as_subprotocols_is_accepted_as_token(site: Site) -> None:
    key = await asyncio.to_thread(site.user, "tom")
    async with socket_to(site, subprotocols=["token", key]) as client:
        assert client.subprotocol == "token"
        assert (await ask(client, "whoami"))["data"] == "tom"


async def test_a_token_in_the_query_string(site: Site) -> None:
    key = await asyncio.to_thread(site.user, "quinn")
    async with socket_to(site, f"/ws/items/?token={key}") as client:
        assert (await ask(client, "whoami"))["data"] == "quinn"


async def test_no_credentials_or_an_unknown_token_is_anonymous(site: Site) -> None:
    async with socket_to(site, "/ws/whoami/", subprotocols=["token", "unknown"]) as client:
        assert client.subprotocol == "token"
        assert (await ask(client, "whoami"))["data"] is None
    with pytest.raises(InvalidStatus) as refused:
        async with socket_to(site):  # IsAuthenticated refuses the handshake
            pass
    assert refused.value.response.status_code == 403


async def test_a_foreign_origin_is_refused_and_an_allowed_one_accepted(site: Site) -> None:
    """A foreign Origin, or none, is refused with 403 before any middleware reads the token."""
    key = await asyncio.to_thread(site.user, "olga")
    foreign = Origin("http://evil.example")
    with pytest.raises(InvalidStatus) as refused:
        async with socket_to(site, subprotocols=["token", key], origin=foreign):
            pass
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as without:
        async with socket_to(site, subprotocols=["token", key], send_origin=False):
            pass
    assert without.value.response.status_code == 403
    async with socket_to(site, subprotocols=["token", key]) as client:
        assert (await ask(client, "whoami"))["data"] == "olga"


async def test_a_logout_over_http_ends_the_open_connection_of_that_session(site: Site) -> None:
    """The logout, in a request the server handles, reaches the connection through Redis: its
    subscription gets one 401 frame, its next action is refused; another session stays."""
    await asyncio.to_thread(site.user, "lou")
    pk = await asyncio.to_thread(site.item, "lou")
    cookie = await asyncio.to_thread(site.login, "lou")
    other = await asyncio.to_thread(site.login, "lou")
    async with socket_to(site, cookie=cookie) as ended, socket_to(site, cookie=other) as kept:
        await subscribe(ended, pk)
        await subscribe(kept, pk)
        response = await asyncio.to_thread(site.post, "/logout/", {}, cookie)
        assert response.status == 204
        assert await receive(ended) == LOST_FRAME
        assert await ask(ended, "whoami") == REFUSED_ACTION
        assert (await ask(kept, "whoami"))["data"] == "lou"


async def test_a_deactivation_in_another_process_ends_every_connection(site: Site) -> None:
    """Saved in a Django shell of its own process: the session's and the token's connections
    both lose their access."""
    key = await asyncio.to_thread(site.user, "dee")
    pk = await asyncio.to_thread(site.item, "dee")
    cookie = await asyncio.to_thread(site.login, "dee")
    async with (
        socket_to(site, cookie=cookie) as by_session,
        socket_to(site, subprotocols=["token", key]) as by_token,
    ):
        for client in (by_session, by_token):
            await subscribe(client, pk)
        code = (
            "from django.contrib.auth.models import User\n"
            "user = User.objects.get(username='dee')\n"
            "user.is_active = False\n"
            "user.save()"
        )
        await asyncio.to_thread(site.manage, code)
        for client in (by_session, by_token):
            assert await receive(client) == LOST_FRAME
            assert await ask(client, "whoami") == REFUSED_ACTION
