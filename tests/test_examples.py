"""The README's quick start works exactly as printed."""

from __future__ import annotations

import pytest

from examples.quickstart import NoteConsumer, NoteOut
from typed_dcrf.testing import ApiClient, ErrorReply


@pytest.mark.django_db(transaction=True)
async def test_quickstart_consumer() -> None:
    """Create a note, read it back, and meet the 404, 400 and 403 paths."""
    async with ApiClient(NoteConsumer) as client:
        created = await client.call(NoteConsumer.add_note, text="hello")
        assert created.status == 201
        fetched = await client.call(NoteConsumer.get_note, pk=created.data.id)
        assert fetched.data == NoteOut(id=created.data.id, text="hello")

        with pytest.raises(ErrorReply) as missing:
            await client.call(NoteConsumer.get_note, pk=999)
        assert missing.value.status == 404

        with pytest.raises(ErrorReply) as too_long:
            await client.call(NoteConsumer.add_note, text="x" * 101)
        assert too_long.value.errors == [{"text": ["String should have at most 100 characters."]}]

        with pytest.raises(ErrorReply) as refused:
            await client.call(NoteConsumer.get_note, pk=1000)
        assert (refused.value.status, refused.value.errors) == (
            401,
            ["Authentication credentials were not provided."],
        )
