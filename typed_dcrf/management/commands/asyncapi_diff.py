"""``manage.py asyncapi_diff OLD NEW``: the breaking changes between two AsyncAPI documents;
the command fails when there is one."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from typed_dcrf.breaking import breaking_changes
from typed_dcrf.management.pyyaml import needs_pyyaml


class Command(BaseCommand):
    help = "Print what NEW breaks for clients of OLD (AsyncAPI documents, JSON or YAML)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("old", type=Path)
        parser.add_argument("new", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        changes = breaking_changes(_read(options["old"]), _read(options["new"]))
        for change in changes:
            self.stdout.write(change)
        if changes:
            raise CommandError(f"{len(changes)} breaking change(s).")
        self.stdout.write("No breaking changes.")


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix not in {".yaml", ".yml"}:
        document: dict[str, Any] = json.loads(text)
        return document
    with needs_pyyaml():
        import yaml
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded
