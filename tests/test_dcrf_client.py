"""DCRF's own JavaScript client, the npm package dcrf-client (pinned in tests/js/package.json),
unchanged against typed_dcrf on uvicorn and daphne over the multiplexed route: the checks are
tests/js/dcrf_client_check.mjs; this module installs its packages and runs it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.server.process import ROOT, Running

JS = ROOT / "tests" / "js"
SCRIPT = JS / "dcrf_client_check.mjs"
STAMP = JS / "node_modules" / ".typed-dcrf-installed"
"""The hash of package.json and package-lock.json that node_modules was installed from."""
NPM_TIMEOUT = 45.0
"""Seconds for `npm ci` (about 2 s with a warm npm cache)."""
NODE_TIMEOUT = 30.0
"""Seconds for the script, which gives up by itself after 25 s (5 s for any one reply)."""


def tool(name: str) -> str:
    """The path of ``name``; a skip where it is missing, a failure in CI (CI=true)."""
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not on PATH: the dcrf-client check needs Node.js and npm"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI requires them")
        pytest.skip(reason)
    return found


def lock_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((JS / name).read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def node() -> str:
    """node, with tests/js's locked packages in tests/js/node_modules (`npm ci`, skipped when
    the stamp says node_modules was installed from the same package.json and lock file)."""
    node, npm = tool("node"), tool("npm")
    wanted = lock_hash()
    if not STAMP.is_file() or STAMP.read_text() != wanted:
        install = [npm, "ci", "--no-audit", "--no-fund"]
        done = subprocess.run(install, cwd=JS, capture_output=True, text=True, timeout=NPM_TIMEOUT)
        if done.returncode != 0:
            pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        STAMP.write_text(wanted)
    return node


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
