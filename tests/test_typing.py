"""Type checking: typing_tests/check_errors.py, without its ignore comments, fails as declared."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.server.process import run_unmeasured

ROOT = Path(__file__).resolve().parent.parent
MISUSE = ROOT / "typing_tests" / "check_errors.py"
# `  # type: ignore[code, ...]` is mypy's, `  # pyright: ignore[rule, ...]` pyright's.
IGNORE = re.compile(r"  # (type|pyright): ignore\[([^\]]+)\]")
TIMEOUT = 120  # seconds, for each checker

Errors = set[tuple[int, str]]
"""Reported errors as (line, code) pairs; lines count from 1."""


def strip_ignores(source: str) -> tuple[str, Errors, Errors]:
    """``source`` without its ignore comments, and the errors mypy and pyright must report."""
    expected: dict[str, Errors] = {"type": set(), "pyright": set()}
    lines: list[str] = []
    for number, line in enumerate(source.splitlines(), start=1):
        for checker, codes in IGNORE.findall(line):
            expected[checker].update((number, code.strip()) for code in codes.split(","))
        lines.append(IGNORE.sub("", line))
    return "\n".join(lines) + "\n", expected["type"], expected["pyright"]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return run_unmeasured(command, timeout=TIMEOUT)


def mypy_errors(path: Path) -> tuple[Errors, list[str]]:
    """mypy's errors in ``path``, and the notes (``hint``) that come with them."""
    # A cache of its own: a shared one replays the errors of a cached `check_errors` module.
    options = ["--config-file", str(ROOT / "mypy.ini"), "--cache-dir", str(path.parent / "cache")]
    result = run([sys.executable, "-m", "mypy", *options, "-O", "json", str(path)])
    assert result.returncode == 1, result.stdout + result.stderr  # 1: errors found; 2: crashed
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    target = path.resolve()
    reports = [report for report in reports if Path(report["file"]).resolve() == target]
    errors = {(r["line"], r["code"]) for r in reports if r["severity"] == "error"}
    return errors, [r["hint"] for r in reports if r["hint"]]


def pyright_errors(path: Path) -> Errors:
    pyright = str(Path(sys.executable).parent / "pyright")
    result = run([pyright, "--outputjson", "-p", str(ROOT / "pyproject.toml"), str(path)])
    assert result.returncode == 1, result.stdout + result.stderr  # 1: errors found
    diagnostics = json.loads(result.stdout)["generalDiagnostics"]
    target = path.resolve()
    return {
        (diagnostic["range"]["start"]["line"] + 1, diagnostic["rule"])
        for diagnostic in diagnostics
        if diagnostic["severity"] == "error" and Path(diagnostic["file"]).resolve() == target
    }


def test_misuse_fails_type_checking(tmp_path: Path) -> None:
    """Each checker reports exactly the errors that check_errors.py's ignore comments name."""
    source, expected_mypy, expected_pyright = strip_ignores(MISUSE.read_text())
    assert expected_mypy
    assert expected_pyright
    bare = tmp_path / "check_errors.py"
    bare.write_text(source)

    errors, notes = mypy_errors(bare)
    assert errors == expected_mypy
    # A method of the wrong kind or return type is shown the expected signature, not told to
    # mark `self` positional-only (mypy's note on Concatenate types).
    assert not [note for note in notes if "positional-only" in note]
    assert pyright_errors(bare) == expected_pyright
