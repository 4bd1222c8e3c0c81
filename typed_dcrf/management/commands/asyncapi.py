"""``manage.py asyncapi``: the AsyncAPI document of the project's websocket routes, as JSON or
YAML, on standard output or in a file."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from typed_dcrf.management.project import project_document
from typed_dcrf.management.pyyaml import needs_pyyaml


class Command(BaseCommand):
    help = "Write the AsyncAPI 3.0 document of ASGI_APPLICATION's websocket routes."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--output", "-o", type=Path, help="a file (default: standard output)")
        parser.add_argument(
            "--format",
            choices=["json", "yaml"],
            default=None,
            help=("default: yaml for a .yaml or .yml output, else json"),
        )
        parser.add_argument("--title", default=None, help="default: the ASGI application's path")
        parser.add_argument("--api-version", default="1.0.0", help="info.version (default: 1.0.0)")

    def handle(self, *args: Any, **options: Any) -> None:
        document = project_document(options["title"], options["api_version"])
        output: Path | None = options["output"]
        fmt = options["format"] or (
            "yaml" if output and output.suffix in {".yaml", ".yml"} else "json"
        )
        text = _yaml(document) if fmt == "yaml" else json.dumps(document, indent=2) + "\n"
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text)
            self.stderr.write(f"Wrote {output} ({len(document['channels'])} channels).")


def _yaml(document: dict[str, Any]) -> str:
    with needs_pyyaml():
        import yaml
    # types-PyYAML leave a parameter of safe_dump partly unknown (its `width`).
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)  # pyright: ignore[reportUnknownMemberType]
    return text
