"""``manage.py typescript_client``: the TypeScript client of the project's websocket routes,
on standard output or in a file."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from typed_dcrf.management.project import project_document
from typed_dcrf.typescript import typescript_client


class Command(BaseCommand):
    help = "Write the typed TypeScript client of ASGI_APPLICATION's websocket routes."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--output", "-o", type=Path, help="a file (default: standard output)")
        parser.add_argument("--title", default=None, help="default: the ASGI application's path")
        parser.add_argument("--api-version", default="1.0.0", help="default: 1.0.0")

    def handle(self, *args: Any, **options: Any) -> None:
        document = project_document(options["title"], options["api_version"])
        text = typescript_client(document)
        output: Path | None = options["output"]
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text)
            self.stderr.write(f"Wrote {output} ({len(document['channels'])} channels).")
