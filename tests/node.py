"""Node.js with the npm packages pinned in tests/js (dcrf-client, @asyncapi/parser,
typescript, ws), installed once for every test and worker that needs them."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.server.process import ROOT, run_unmeasured

JS = ROOT / "tests" / "js"
STAMP = JS / "node_modules" / ".typed-dcrf-installed"
"""The hash of package.json and package-lock.json that node_modules was installed from."""
LOCK = JS / ".install.lock"
NPM_TIMEOUT = 120.0
"""Seconds for `npm ci` (about 20 s with a cold npm cache, 2 s with a warm one)."""


def tool(name: str) -> str:
    """The path of ``name``; a skip where it is missing, a failure in CI (CI=true)."""
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not on PATH: the JavaScript checks need Node.js and npm"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI requires them")
        pytest.skip(reason)
    return found


def lock_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((JS / name).read_bytes())
    return digest.hexdigest()


def node_with_packages() -> str:
    """node, with tests/js's locked packages in tests/js/node_modules (`npm ci` under a file
    lock, skipped when the stamp says node_modules was installed from the same lock file)."""
    node, npm = tool("node"), tool("npm")
    wanted = lock_hash()
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing
        if not STAMP.is_file() or STAMP.read_text() != wanted:
            install = [npm, "ci", "--no-audit", "--no-fund"]
            done = subprocess.run(
                install, cwd=JS, capture_output=True, text=True, timeout=NPM_TIMEOUT, check=False
            )
            if done.returncode != 0:
                pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
            STAMP.write_text(wanted)
    return node


def asyncapi_problems(document: dict[str, Any], directory: Path) -> list[dict[str, str]]:
    """The errors and warnings the official AsyncAPI parser finds in ``document``."""
    written = directory / "asyncapi.json"
    written.write_text(json.dumps(document))
    command = [node_with_packages(), str(JS / "asyncapi_validate.mjs"), str(written)]
    done = run_unmeasured(command, cwd=JS)
    assert done.returncode == 0, done.stdout + done.stderr
    diagnostics: list[dict[str, str]] = [json.loads(line) for line in done.stdout.splitlines()]
    return [d for d in diagnostics if d["severity"] in ("error", "warning")]


TYPESCRIPT = JS / "typescript"
"""The strict tsconfig.json, and the sample and type checks of the generated client."""
TSC_TIMEOUT = 60.0


@contextmanager
def typescript_project(files: Mapping[str, str]) -> Generator[Path]:
    """A directory under tests/js (where node finds its packages) holding ``files`` (names and
    texts), compiled with tests/js/typescript/tsconfig.json's options to out/; removed
    afterwards."""
    node = node_with_packages()
    (JS / "build").mkdir(exist_ok=True)
    directory = Path(tempfile.mkdtemp(dir=JS / "build"))
    try:
        config = json.loads((TYPESCRIPT / "tsconfig.json").read_text())
        config["files"] = list(files)
        (directory / "tsconfig.json").write_text(json.dumps(config))
        for name, text in files.items():
            (directory / name).write_text(text)
        tsc = [node, str(JS / "node_modules" / "typescript" / "bin" / "tsc"), "-p", "."]
        done = run_unmeasured(tsc, cwd=directory, timeout=TSC_TIMEOUT)
        assert done.returncode == 0, done.stdout + done.stderr
        yield directory
    finally:
        shutil.rmtree(directory)
