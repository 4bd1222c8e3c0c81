"""The demo's users, alice and bob (password ``demo``), and a first few tasks."""

from __future__ import annotations

from django.apps.registry import Apps
from django.contrib.auth.hashers import make_password
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def create(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    user_model = apps.get_model("auth", "User")
    task_model = apps.get_model("board", "Task")
    alice = user_model.objects.create(username="alice", password=make_password("demo"))
    user_model.objects.create(username="bob", password=make_password("demo"))
    for title in ("Water the plants", "Book the train", "Write the release notes"):
        task_model.objects.create(title=title, created_by=alice)


class Migration(migrations.Migration):
    dependencies = [("board", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
