"""What the commands that write the project's contracts share: the AsyncAPI document of
``ASGI_APPLICATION``, and their ``--output``, ``--title`` and ``--api-version`` options."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from typed_dcrf.routes import websocket_routes
from typed_dcrf.schema import asyncapi_document


class ContractCommand(BaseCommand):
    """A command writing something made from the project's document, to standard output or
    to ``--output`` (its directory made where missing)."""

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--output", "-o", type=Path, help="a file (default: standard output)")
        parser.add_argument("--title", default=None, help="default: the ASGI application's path")
        parser.add_argument("--api-version", default="1.0.0", help="info.version (default: 1.0.0)")

    def document(self, options: dict[str, Any]) -> dict[str, Any]:
        return project_document(options["title"], options["api_version"])

    def write(self, text: str, output: Path | None, document: dict[str, Any]) -> None:
        if output is None:
            self.stdout.write(text, ending="")
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
        self.stderr.write(f"Wrote {output} ({len(document['channels'])} channels).")


def project_document(title: str | None, version: str) -> dict[str, Any]:
    """The document of ``ASGI_APPLICATION``'s websocket routes (``title``: by default, the
    application's module)."""
    path = getattr(settings, "ASGI_APPLICATION", None)
    if not isinstance(path, str):
        raise CommandError("Set ASGI_APPLICATION to the application whose routes to describe.")
    routes = websocket_routes(import_string(path))
    if not routes:
        raise CommandError(f"{path} routes no websocket to a typed_dcrf consumer.")
    return asyncapi_document(routes, title=title or path.rsplit(".", 1)[0], version=version)
