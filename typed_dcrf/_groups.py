"""Channel layer groups: their names, readable, valid for every layer and never colliding, and
keeping a channel in its groups.

A name reads as its parts (``dcrf.tests.app.item.ItemConsumer.instance.42``), cleaned to the
characters layers accept and cut to length, then ends with a digest of the exact parts, so two
observers, consumers or models whose cleaned names agree still get different groups.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from typed_dcrf._exception_handler import logger
from typed_dcrf._layer_watch import layer_call

if TYPE_CHECKING:
    from channels.layers import BaseChannelLayer

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


async def keep_joined(
    layer: BaseChannelLayer,
    groups: Callable[[], Iterable[str]],
    join: Callable[[str], Awaitable[None]],
    what: str,
) -> None:
    """``join`` each of ``groups()`` again every half the layer's ``group_expiry``, before it
    forgets them (channels-redis drops a membership a day after it was made), until cancelled;
    a group that cannot be joined is logged, and tried again next time, the others all the
    same."""
    expiry = float(getattr(layer, "group_expiry", 86400))
    while True:
        await asyncio.sleep(expiry / 2)
        for group in list(groups()):
            try:
                await join(group)
            except Exception:  # the layer is down: try again next time
                logger.exception("Joining %s %r again failed", what, group)


async def leave_group(
    layer: BaseChannelLayer, group: str, channel: str, what: str = "the group"
) -> None:
    """Take ``channel`` out of ``group``; a layer that cannot be reached (twice) is logged, not
    raised: the membership expires."""
    try:
        await layer_call(layer.group_discard, group, channel)
    except Exception:
        logger.exception("Leaving %s %r failed", what, group)
