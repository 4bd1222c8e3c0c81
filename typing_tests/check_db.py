"""`typed_dcrf.db`: `run(fn, ...)` and `@database_sync` functions await to `fn`'s return type."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, assert_type

from django.contrib.auth.models import Group

from typed_dcrf import db


def group_names(prefix: str, /) -> list[str]:
    return list(Group.objects.filter(name__startswith=prefix).values_list("name", flat=True))


def find_group(pk: int, *, create: bool = False) -> Group | None:
    return Group.objects.filter(pk=pk).first()


@db.database_sync
def count_groups(prefix: str, /) -> int:
    return Group.objects.filter(name__startswith=prefix).count()


@db.database_sync
def rename_group(pk: int, *, name: str) -> Group:
    group = Group.objects.get(pk=pk)
    group.name = name
    group.save()
    return group


async def awaited() -> None:
    assert_type(await db.run(Group.objects.count), int)
    assert_type(await db.run(group_names, "admin"), list[str])
    assert_type(await db.run(find_group, 1), Group | None)
    assert_type(await db.run(find_group, pk=1, create=True), Group | None)
    assert_type(await db.run(lambda: Group.objects.filter(pk=1).exists()), bool)

    assert_type(count_groups, Callable[[str], Coroutine[Any, Any, int]])
    assert_type(await count_groups("admin"), int)
    assert_type(await rename_group(1, name="staff"), Group)
    assert_type(await rename_group(pk=1, name="staff"), Group)
