"""The protocol fuzzer's strategies, budget and frame count (tests/test_fuzz.py).

Frames are JSON objects (valid and wrongly typed arguments of the sample actions in
``tests.app.fuzzed``, any JSON value as ``request_id``), and also text that is not JSON, JSON
that is not an object, JSON that typed_dcrf refuses (``NaN``, ``1e400``, lone surrogates, deep
nesting) and binary frames.

The budget: a fixed number of examples per test, derandomized, without an example database
(CI's run is the same every time); ``TYPED_DCRF_FUZZ=long`` runs ``LONG_FACTOR`` times the
examples, from a random seed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Final, cast

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from typed_dcrf.types import JSONObject, JSONValue

MODE = os.environ.get("TYPED_DCRF_FUZZ", "")
if MODE not in ("", "ci", "long"):
    msg = f"TYPED_DCRF_FUZZ={MODE!r}: use 'long' (or leave it unset for the CI budget)."
    raise ValueError(msg)
LONG: Final = MODE == "long"
MAX_FRAME_BYTES: Final = 524_288
"""typed_dcrf's default ``MAX_FRAME_BYTES``."""
LONG_FACTOR: Final = 50
"""How many times the CI budget's examples ``TYPED_DCRF_FUZZ=long`` runs."""


def budget(examples: int) -> settings:
    """Settings for a fuzz test of ``examples`` examples in CI (``LONG_FACTOR`` times as many,
    from a random seed, with ``TYPED_DCRF_FUZZ=long``)."""
    return settings(
        max_examples=examples * LONG_FACTOR if LONG else examples,
        derandomize=not LONG,
        database=None,
        deadline=None,
        print_blob=True,
        # A connection (a fixture) is kept across examples on purpose, for speed.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


class Sent:
    """The frames the fuzz tests sent in this process (not counting the pings after them)."""

    frames = 0


# --- JSON values ---------------------------------------------------------------------------

LEAVES: st.SearchStrategy[JSONValue] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "0", "1", "1.0", "true", "null", "red", "fast", "\x00", "a\x00b"]),
)
"""Scalars, the strings clients confuse with other types among them."""


def _containers(children: st.SearchStrategy[JSONValue]) -> st.SearchStrategy[JSONValue]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    )


JSON: st.SearchStrategy[JSONValue] = st.recursive(LEAVES, _containers, max_leaves=10)
"""Any JSON value (finite floats, no lone surrogates), nested a few levels at most."""

OBJECTS: st.SearchStrategy[JSONObject] = st.dictionaries(st.text(max_size=8), JSON, max_size=4)


def or_anything(valid: st.SearchStrategy[JSONValue]) -> st.SearchStrategy[JSONValue]:
    """A value that is right for its place, or any JSON value (mostly of a wrong type)."""
    return st.one_of(valid, JSON)


def obj(
    required: dict[str, st.SearchStrategy[JSONValue]],
    optional: dict[str, st.SearchStrategy[JSONValue]] | None = None,
) -> st.SearchStrategy[JSONValue]:
    """A JSON object of these fields, each right or wrong, each sometimes left out, sometimes
    with a key of its own added."""
    fields = {**required, **(optional or {})}
    built = st.fixed_dictionaries(
        {}, optional={name: or_anything(value) for name, value in fields.items()}
    )
    extra = st.dictionaries(st.text(max_size=6), JSON, max_size=1)

    def merge(known: dict[str, JSONValue], more: dict[str, JSONValue]) -> JSONValue:
        return {**more, **known}

    return st.builds(merge, built, extra)


# --- Arguments of the sample actions (tests.app.fuzzed) ----------------------------------------

TEXT: st.SearchStrategy[JSONValue] = st.text(max_size=12)
INTEGERS: st.SearchStrategy[JSONValue] = st.integers()
STREET = obj({"name": TEXT, "number": INTEGERS})
ADDRESS = obj(
    {"street": STREET, "zip": st.text(max_size=12)},
    {
        "lines": st.lists(TEXT, max_size=3).map(lambda v: cast("JSONValue", v)),
        "floor": st.none() | INTEGERS,
    },
)
CONTACT = obj(
    {
        "email": TEXT,
        "tags": st.lists(st.sampled_from(["home", "work", "away"]), max_size=3).map(
            lambda v: cast("JSONValue", v)
        ),
    },
    {"phone": TEXT},
)
PERSON = obj(
    {"name": TEXT, "age": st.integers(-2, 200).map(lambda v: cast("JSONValue", v))},
    {
        "address": st.none() | ADDRESS,
        "contacts": st.lists(CONTACT, max_size=2).map(lambda v: cast("JSONValue", v)),
    },
)
COLOURS: st.SearchStrategy[JSONValue] = st.sampled_from(["red", "green", "blue", "RED"])
SIZES: st.SearchStrategy[JSONValue] = st.sampled_from([1, 2, 3, "1", 1.0, True])
MODES: st.SearchStrategy[JSONValue] = st.sampled_from(["fast", "slow", 3, "3", 3.0, "FAST"])
INT_LIST: st.SearchStrategy[JSONValue] = st.lists(st.integers() | TEXT, max_size=5).map(
    lambda v: cast("JSONValue", v)
)

ACTION_ARGUMENTS: dict[str, st.SearchStrategy[JSONValue]] = {
    "ping": obj({}),
    "echo": obj({"text": TEXT}),
    "ship": obj({"address": ADDRESS}, {"express": st.booleans()}),
    "contact": obj({"contact": CONTACT}),
    "register": obj({"person": PERSON}, {"colour": COLOURS}),
    "choose": obj(
        {"mode": MODES, "colour": COLOURS, "size": SIZES, "ranks": INT_LIST},
        {"note": st.none() | TEXT, "limit": INTEGERS},
    ),
    "tally": obj(
        {
            "counts": st.dictionaries(TEXT.map(str), INTEGERS, max_size=3).map(
                lambda v: cast("JSONValue", v)
            ),
            "pair": st.tuples(INTEGERS, TEXT).map(lambda v: cast("JSONValue", list(v))),
        },
        {
            "weights": st.none()
            | st.lists(st.floats(allow_nan=False, allow_infinity=False)).map(
                lambda v: cast("JSONValue", v)
            )
        },
    ),
    "anything": obj({"value": JSON}, {"label": TEXT}),
}
"""For each action of ``FuzzActions``, its arguments (each right or wrong, or missing)."""

ROW_PKS: st.SearchStrategy[JSONValue] = st.one_of(
    st.integers(0, 8), st.sampled_from(["1", "01", " 1", "1.0", 1.0, 1.5, -1, 2**63, True])
)
ITEM_DATA = obj(
    {
        "name": st.text(max_size=110),
        "slug": st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True) | TEXT,
    },
    {
        "uuid": st.uuids().map(str) | TEXT,
        "done": st.booleans() | st.sampled_from(["true", "no", 1, 0]),
        "owner": st.none() | st.integers(-1, 3),
        "id": INTEGERS,
    },
)
"""``data`` of a create, update or patch of an ``Item``."""

CRUD_ARGUMENTS: dict[str, st.SearchStrategy[JSONValue]] = {
    "create": obj({"data": ITEM_DATA}),
    "list": obj(
        {},
        {
            "data": st.just(cast("JSONValue", {})),
            "search": TEXT | st.lists(TEXT, max_size=2).map(lambda v: cast("JSONValue", v)),
            "ordering": st.sampled_from(["name", "-id", "bogus", "name,-id", "\x00"]) | TEXT,
            "done": st.booleans() | st.sampled_from(["true", "maybe"]),
            "name_has": st.sampled_from(["Mi", "\x00"]) | TEXT,
        },
    ),
    "retrieve": obj({"pk": ROW_PKS}, {"data": st.just(cast("JSONValue", {}))}),
    "update": obj({"pk": ROW_PKS, "data": ITEM_DATA}),
    "patch": obj({"pk": ROW_PKS, "data": ITEM_DATA}),
    "delete": obj({"pk": ROW_PKS}, {"data": st.just(cast("JSONValue", {}))}),
}
"""For each action of ``FuzzItems``, its arguments."""

STRING_LOOKUPS: dict[str, st.SearchStrategy[JSONValue]] = {
    "slug": obj({"slug": st.sampled_from(["milk", "eggs", "milk\x00", "\x00"]) | TEXT}),
    "item_name": obj({"item_name": st.sampled_from(["Milk", "Milk\x00", "\x00"]) | TEXT}),
    "uuid": obj({"uuid": st.uuids().map(str) | st.sampled_from(["\x00", "0" * 32]) | TEXT}),
}
"""Arguments of ``retrieve`` (and the by-name consumer's other actions) by each string
lookup field."""


# --- Frames ------------------------------------------------------------------------------------


class _Absent:
    """No ``request_id`` key in the frame."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()
REQUEST_IDS: st.SearchStrategy[JSONValue | _Absent] = st.one_of(
    st.just(ABSENT),
    st.sampled_from(
        cast("list[JSONValue]", [1, 1.0, "1", 0, -0.0, True, False, None, "", [], {}, 2**64, 1e300])
    ),
    JSON,
)
"""Any JSON value as a request_id, or none."""


def frame_of(
    actions: st.SearchStrategy[JSONValue], arguments: st.SearchStrategy[JSONValue]
) -> st.SearchStrategy[JSONObject]:
    """A frame: ``action``, its ``arguments`` (an object, else ignored) and a request_id."""

    def build(action: JSONValue, given: JSONValue, request_id: JSONValue | _Absent) -> JSONObject:
        frame: JSONObject = dict(given) if isinstance(given, dict) else {}
        frame.pop("request_id", None)
        frame["action"] = action
        if not isinstance(request_id, _Absent):
            frame["request_id"] = request_id
        return frame

    return st.builds(build, actions, arguments, REQUEST_IDS)


def _without_action(frame: JSONObject) -> JSONObject:
    return {key: value for key, value in frame.items() if key != "action"}


def action_frames(
    arguments: dict[str, st.SearchStrategy[JSONValue]],
) -> st.SearchStrategy[JSONObject]:
    """Frames of each named action with its arguments, and of unknown or non-string actions."""
    named = [frame_of(st.just(cast("JSONValue", name)), args) for name, args in arguments.items()]
    return st.one_of(
        *named,
        frame_of(st.one_of(TEXT, JSON), OBJECTS.map(lambda v: cast("JSONValue", v))),
        # No action key at all.
        named[0].map(_without_action),
    )


@dataclass(frozen=True)
class Raw:
    """One websocket frame as sent: text or bytes, and whether it is a JSON object by the
    wire protocol (typed_dcrf must read its ``request_id`` and ``action``)."""

    text: str | None = None
    data: bytes | None = None


def as_text(frame: JSONValue) -> st.SearchStrategy[Raw]:
    """``frame`` as JSON text, ASCII-escaped or not."""
    return st.booleans().map(lambda ascii: Raw(text=json.dumps(frame, ensure_ascii=ascii)))


def _mangle(text: str, where: int, cut: bool, insert: str) -> str:
    at = where % (len(text) + 1)
    return text[:at] + insert + (text[at + 1 :] if cut else text[at:])


def refused_json(frames: st.SearchStrategy[JSONObject]) -> st.SearchStrategy[Raw]:
    """Frames typed_dcrf refuses although they look like JSON: ``NaN``, ``Infinity``, numbers
    no float holds, lone surrogate escapes, nesting past the limit, broken syntax."""
    bad_tokens = st.sampled_from(
        ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", '"\\ud800"', '"\\udfff x"', "01"]
    )

    def with_token(frame: JSONObject, token: str) -> Raw:
        return Raw(
            text=json.dumps({**frame, "extra": 0}).replace('"extra": 0', f'"extra": {token}')
        )

    def nested(frame: JSONObject, depth: int, key: str) -> Raw:
        value: JSONValue = 1
        for _ in range(depth):
            value = [value] if key == "list" else {"k": value}
        return Raw(text=json.dumps({**frame, "deep": value}))

    def mangled(frame: JSONObject, where: int, cut: bool, insert: str) -> Raw:
        return Raw(text=_mangle(json.dumps(frame), where, cut, insert))

    def many_keys(frame: JSONObject, count: int) -> Raw:
        return Raw(text=json.dumps({**{f"k{n}": n for n in range(count)}, **frame}))

    def oversize(frame: JSONObject, extra: int, wide: bool) -> Raw:
        # "\u00e9" is two UTF-8 bytes: the limit counts bytes, not characters.
        padding = ("\u00e9" if wide else "x") * ((MAX_FRAME_BYTES + extra) // (2 if wide else 1))
        return Raw(text=json.dumps({**frame, "pad": padding}, ensure_ascii=False))

    def duplicated(frame: JSONObject, key: str, value: JSONValue) -> Raw:
        return Raw(text=json.dumps(frame)[:-1] + f", {json.dumps(key)}: {json.dumps(value)}}}")

    return st.one_of(
        st.builds(with_token, frames, bad_tokens),
        st.builds(nested, frames, st.integers(25, 40), st.sampled_from(["list", "dict"])),
        st.builds(
            mangled,
            frames,
            st.integers(0, 10_000),
            st.booleans(),
            st.sampled_from(["", "{", "}", "[", "]", ",", ":", '"', "\\", "\x00", "\ufeff"]),
        ),
        st.builds(many_keys, frames, st.integers(60, 70)),
        st.builds(oversize, frames, st.integers(-64, 64), st.booleans()),
        st.builds(duplicated, frames, st.sampled_from(["action", "request_id"]), JSON),
    )


def raw_frames(frames: st.SearchStrategy[JSONObject]) -> st.SearchStrategy[Raw]:
    """Every kind of websocket frame: ``frames`` as JSON text, JSON typed_dcrf refuses, JSON
    that is not an object, text that is not JSON, and binary frames."""
    return st.one_of(
        frames.flatmap(as_text),
        refused_json(frames),
        JSON.flatmap(as_text),
        st.text(max_size=40).map(lambda text: Raw(text=text)),
        st.binary(max_size=40).map(lambda data: Raw(data=data)),
        frames.map(lambda frame: Raw(data=json.dumps(frame).encode())),
    )


# --- The oracle --------------------------------------------------------------------------------


def _reject(name: str) -> object:
    raise ValueError(name)


def readable(raw: Raw) -> JSONObject | None:
    """The frame as the wire protocol reads it: a JSON object of a text frame of at most
    ``MAX_FRAME_BYTES``, without ``NaN``/``Infinity``, numbers too large for a float, lone
    surrogates or nesting past 32 levels; else ``None`` (its reply's ``request_id`` is
    null)."""
    if raw.text is None or len(raw.text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        return None
    try:
        value: object = json.loads(raw.text, parse_constant=_reject)
        json.dumps(value, ensure_ascii=False).encode()  # a lone surrogate cannot be encoded
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    frame = cast("JSONObject", value)
    return frame if _finite(frame) and depth(frame) <= 32 else None


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(child) for child in cast("dict[str, object]", value).values())
    if isinstance(value, list):
        return all(_finite(child) for child in cast("list[object]", value))
    return True


def depth(value: object) -> int:
    """How deeply arrays and objects nest in ``value``."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in cast("dict[str, object]", value).values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in cast("list[object]", value)), default=0)
    return 0


def same(left: object, right: object) -> bool:
    """Equal and of the same JSON types all the way down (1, 1.0 and True differ; so do 0.0
    and -0.0)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return left == right and math.copysign(1, left) == math.copysign(1, cast("float", right))
    if isinstance(left, dict):
        theirs = cast("dict[str, object]", right)
        mine = cast("dict[str, object]", left)
        return mine.keys() == theirs.keys() and all(same(mine[k], theirs[k]) for k in mine)
    if isinstance(left, list):
        theirs_list = cast("list[object]", right)
        mine_list = cast("list[object]", left)
        return len(mine_list) == len(theirs_list) and all(
            same(a, b) for a, b in zip(mine_list, theirs_list, strict=True)
        )
    return left == right
