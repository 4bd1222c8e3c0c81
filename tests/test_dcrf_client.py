"""DCRF's own JavaScript client, the npm package dcrf-client (pinned in tests/js/package.json),
unchanged against typed_dcrf on uvicorn and daphne over the multiplexed route: the checks are
tests/js/dcrf_client_check.mjs; this module installs its packages and runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.node import JS, node_with_packages, tool
from tests.server.process import Running

SCRIPT = JS / "dcrf_client_check.mjs"
NODE_TIMEOUT = 30.0
"""Seconds for the script, which gives up by itself after 25 s (5 s for any one reply)."""


@pytest.fixture(scope="module")
def node() -> str:
    return node_with_packages()


def test_dcrf_client_crud_and_custom_actions(node: str, server: Running) -> None:
    """dcrf-client's create, list, retrieve, update, patch, delete, a missing row and request()
    on two streams each send the frame DCRF documents and get typed_dcrf's exact reply; its
    subscribe() gets the update and the delete of the row it watches."""
    slug = f"dcrf-client-{server.kind}"
    run = [node, str(SCRIPT), str(server.port), slug]
    done = subprocess.run(run, cwd=JS, capture_output=True, text=True, timeout=NODE_TIMEOUT)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    [line] = done.stdout.splitlines()
    result: dict[str, Any] = json.loads(line)
    checks: dict[str, Any] = result["checks"]
    row = checks["create"]["value"]
    assert row == {
        "id": row["id"],
        "name": "milk",
        "slug": slug,
        "uuid": row["uuid"],
        "done": False,
        "owner": None,
    }
    renamed = {**row, "name": "oat milk"}
    missing = checks["retrieve_deleted"]["value"]
    assert checks == {
        "create": {"status": 201, "value": row},
        "list": {"status": 200, "value": [row]},
        "retrieve": {"status": 200, "value": row},
        "update": {"status": 200, "value": renamed},
        "patch": {"status": 200, "value": {**renamed, "done": True}},
        "delete": {"status": 204, "value": None},
        "retrieve_deleted": {
            "status": 404,
            "value": {
                "errors": ["Not found"],
                "data": None,
                "action": "retrieve",
                "response_status": 404,
                "request_id": missing["request_id"],
            },
        },
        "add": {"status": 200, "value": 3.5},
        "echo": {"status": 200, "value": "héllo ✓"},
        "subscribe": {"status": 201, "value": None},
        "subscription": {"events": 2},
    }
    # 9 requests and their replies; then a create, subscribe_instance, a patch and a delete,
    # their replies, and the two events.
    assert result == {"ok": True, "checks": checks, "frames": 18 + 10}


@pytest.mark.parametrize(
    ("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
def test_a_missing_node_skips_here_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    """Without node on PATH the check is a skip with its reason, and a failure when CI=true."""
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory
    with pytest.raises(outcome, match="node is not on PATH"):
        tool("node")
