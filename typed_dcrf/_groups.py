"""Channel layer group names: readable, valid for every layer, and never colliding.

A name reads as its parts (``dcrf.tests.app.item.ItemConsumer.instance.42``), cleaned to the
characters layers accept and cut to length, then ends with a digest of the exact parts, so two
observers, consumers or models whose cleaned names agree still get different groups.
"""

from __future__ import annotations

import hashlib
import re

MAX_LENGTH = 99
"""channels' layers take names shorter than 100 characters."""

_INVALID = re.compile(r"[^a-zA-Z0-9\-_.]+")
_DIGEST_CHARACTERS = 16


def group_name(*parts: str) -> str:
    """The group for ``parts``: ``dcrf.<readable parts>.<digest of the exact parts>``."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()
    readable = ".".join(_INVALID.sub("-", part) for part in parts if part)
    room = MAX_LENGTH - len("dcrf..") - _DIGEST_CHARACTERS
    return f"dcrf.{readable[:room].rstrip('.')}.{digest}"
