"""The README's quick-start consumer: typed actions, a permission, a sync ORM action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from annotated_types import MaxLen

from tests.app.models import Note
from typed_dcrf import (
    ActionContext,
    AsyncAPIConsumer,
    BasePermission,
    NotFound,
    Response,
    action,
    db,
)


@dataclass
class NoteOut:
    id: int
    text: str


class SmallIdsOnly(BasePermission):
    message = "Only notes below 1000."

    def has_permission(self, context: ActionContext, consumer: AsyncAPIConsumer) -> bool:
        pk = context.arguments.get("pk")
        return not isinstance(pk, int) or pk < 1000


class NoteConsumer(AsyncAPIConsumer):
    permission_classes = (SmallIdsOnly,)

    @action()
    async def get_note(self, pk: int) -> Response[NoteOut]:
        note = await db.run(Note.objects.filter(pk=pk).first)
        if note is None:
            raise NotFound
        return Response.ok(NoteOut(id=note.pk, text=note.text))

    @action(atomic=True)
    def add_note(self, text: Annotated[str, MaxLen(100)]) -> Response[NoteOut]:
        note = Note.objects.create(text=text)  # sync action: runs in the DB thread
        return Response.created(NoteOut(id=note.pk, text=note.text))
