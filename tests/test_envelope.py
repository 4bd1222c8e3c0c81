"""typed_dcrf._envelope's encoding shortcuts give what ``json`` gives, byte for byte."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from typed_dcrf._envelope import multiplexed, parse_json, success, with_key
from typed_dcrf.types import JSONValue

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


@given(action=st.none() | st.text(), request_id=json_values, status=st.integers(200, 299))
def test_a_success_envelope_is_what_json_dumps_writes(
    action: str | None, request_id: JSONValue, status: int
) -> None:
    written = (
        f'{{"errors":[],"data":[1],"action":{json.dumps(action)},'
        f'"response_status":{status},"request_id":{json.dumps(request_id)}}}'
    )
    assert success(action, request_id, status, "[1]") == written


@given(value=json_values)
def test_parse_json_reads_text_and_utf8_bytes(value: JSONValue) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert parse_json(text) == parse_json(text.encode()) == json.loads(text)


@given(key=st.text(), value=json_values, stream=st.text())
def test_a_key_and_a_stream_are_written_as_json_dumps_writes_them(
    key: str, value: JSONValue, stream: str
) -> None:
    assert with_key('{"a":1}', key, value) == f'{{"a":1,{json.dumps(key)}:{json.dumps(value)}}}'
    assert multiplexed(stream, "{}") == f'{{"stream":{json.dumps(stream)},"payload":{{}}}}'
