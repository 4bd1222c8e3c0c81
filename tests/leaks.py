"""No internal detail in a frame: every frame a consumer sends during the suite (in this process,
and in the real servers' processes, which append theirs to a file) is scanned, and one that
carries exception text, a traceback, SQL, a file path, a setting's value or the name of a server
class fails the test."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from typed_dcrf.consumers import AsyncAPIConsumer

FRAMES_FILE = "TYPED_DCRF_FRAMES_FILE"
"""The environment variable naming the file a server process appends its frames to."""

LEAK = re.compile(
    "|".join(
        [
            r"Traceback \(most recent call last\)",
            r'File "[^"]+", line \d+',
            r"\b[A-Z]\w*(?:Error|Exception)(?:: |\()",  # "KeyError: 'x'", "ValueError(...)"
            r"\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.*\bSET\b|\bDELETE FROM\b",
            r"site-packages|/usr/lib/python|\w\.py\b",
            re.escape(str(Path(__file__).resolve().parent.parent)),  # the checkout's path
            r"typed-dcrf-tests",  # tests/settings.py's SECRET_KEY
            r"hunter2",  # the secret the servers' crash action raises
            r"psycopg|sqlite3|django\.db|pydantic_core|errors\.pydantic\.dev",
            r"\binstance of [A-Z]\w*",  # pydantic naming a server class: "instance of Address"
        ]
    )
)
"""What no frame may carry."""


def record_frames(keep: Callable[[str], object]) -> None:
    """Give ``keep`` every text frame a consumer of this process sends, from now on."""
    original = AsyncAPIConsumer.send_envelope

    async def send_envelope(self: AsyncAPIConsumer, text: str) -> None:
        keep(text)
        await original(self, text)

    AsyncAPIConsumer.send_envelope = send_envelope  # type: ignore[method-assign]


def append_to(path: str) -> Callable[[str], None]:
    """A keeper that appends each frame to ``path``, one a line."""

    def append(text: str) -> None:
        with open(path, "a", encoding="utf-8") as out:
            out.write(text.replace("\n", " ") + "\n")

    return append


def leaks(frames: Iterable[str]) -> list[str]:
    """The frames that carry internal detail, each cut to what shows it."""
    found: list[str] = []
    for frame in frames:
        match = LEAK.search(frame)
        if match is not None:
            start = max(match.start() - 80, 0)
            found.append(f"...{frame[start : match.end() + 80]}...")
    return found


def frames_in(path: Path) -> list[str]:
    """The frames a server process appended to ``path`` (none if it sent none)."""
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
