"""A list subscription's view of its client: which rows the client holds, from which version,
and the event each change becomes.

Every row state the client is sent has a version (an event's, or the one taken before the
snapshot page that carried it). A change older than what the client has of its row is dropped,
so that a snapshot and the events racing it give each state once; a row that starts matching
is a ``create``, one that stops (or is deleted) a ``delete``, and an update that changes nothing
the client can see is not sent. After a resume the server does not know every row the client
holds: a row it has not heard of since is sent as an ``update`` or ``delete`` all the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from django.db.models import QuerySet

from typed_dcrf._matching import Predicate

Outcome: TypeAlias = Literal["create", "update", "delete"] | None
"""What the client is sent of a change: nothing when ``None``."""

LEFT_KEPT = 10_000
"""Rows out of the set whose versions a subscription remembers; past that, it forgets the
oldest and ignores every change older than it."""


@dataclass(eq=False)
class LiveSet:
    """The rows one client holds: ``{row key: (version, digest of its data)}``."""

    floor: int = 0
    """Changes up to this version are in what the client was sent."""
    knows_all: bool = True
    """Whether every row the client holds is in ``members`` (not after a resume)."""
    members: dict[str, tuple[int, int | None]] = field(
        default_factory=dict[str, tuple[int, int | None]]
    )
    left: OrderedDict[str, int] = field(default_factory=OrderedDict[str, int])
    """Rows known to be out of the set, with the version that said so."""

    def hold(self, key: str, version: int, digest: int | None) -> None:
        """The client was sent the row ``key`` as of ``version`` (in a snapshot)."""
        self.members[key] = (version, digest)
        self.left.pop(key, None)

    def apply(self, key: str, version: int, visible: bool, digest: int | None) -> Outcome:
        """The event that a change of row ``key`` to a state of ``version`` becomes (it is in
        the set when ``visible``), and the client's view updated."""
        held = self.members.get(key)
        known = held[0] if held is not None else self.left.get(key, self.floor)
        if version <= known:
            return None  # the client has this state of the row, or a newer one
        unknown = held is None and not self.knows_all and key not in self.left
        if not visible:
            self._leave(key, version)
            if held is not None:
                del self.members[key]
                return "delete"
            return "delete" if unknown else None
        self.hold(key, version, digest)
        if held is None:
            return "update" if unknown else "create"
        return None if digest is not None and held[1] == digest else "update"

    def _leave(self, key: str, version: int) -> None:
        self.left[key] = version
        self.left.move_to_end(key)
        while len(self.left) > LEFT_KEPT:
            _, forgotten = self.left.popitem(last=False)
            self.floor = max(self.floor, forgotten)


@dataclass(eq=False)
class LiveQuery:
    """A list subscription: the set's test, and the client's view of it."""

    queryset: QuerySet[Any]
    """The set: the consumer's filtered queryset, as the subscribing action built it."""
    predicate: Predicate | None
    """The set's test in memory; ``None``: the database decides (``Fallbacks``)."""
    sql: str
    """The queryset's SQL and parameters: one key for the subscriptions that share it."""
    seq: bool
    """Whether events carry their version as ``seq``."""
    rows: LiveSet = field(default_factory=LiveSet)
    waiting: dict[str, Mapping[str, Any]] | None = field(
        default_factory=dict[str, Mapping[str, Any]]
    )
    """The latest change of each row that came while the snapshot was read, in the order
    they came (``None`` once the snapshot is sent)."""
    read_through: object = None
    """The last primary key of the snapshot's pages read so far (``READ_ALL`` at its end)."""
    resent: list[tuple[str, str, int]] = field(default_factory=list[tuple[str, str, int]])
    """A resume's events, sent after its reply: ``(action, data, version)``."""

    def passed(self, pk: object) -> bool:
        """Whether the snapshot has read past the row ``pk`` (so whether the client gets it is
        known); told for integer keys, whose order Python and SQL agree on."""
        through = self.read_through
        if through is READ_ALL:
            return True
        return isinstance(pk, int) and isinstance(through, int) and pk <= through


READ_ALL = object()
"""``LiveQuery.read_through`` once the whole snapshot is read."""
