"""One codec per data type, shared by the observers and actions that send it; a type pydantic
cannot build yet is not shared, so that a later definition is not hidden by a stale codec."""

from __future__ import annotations

from typing import Any

from pydantic import create_model

from typed_dcrf._codec import shared_codec

UNDEFINED: Any = "Missing"  # a forward reference to a class not defined (yet)
Later = create_model("Later", other=(UNDEFINED, ...))


def test_a_complete_type_shares_one_codec() -> None:
    assert shared_codec(dict[str, int]) is shared_codec(dict[str, int])


def test_a_type_not_fully_defined_gets_a_codec_of_its_own_each_time() -> None:
    first = shared_codec(Later)
    assert not first.complete
    assert shared_codec(Later) is not first
