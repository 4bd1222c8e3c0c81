"""``manage.py asyncapi``: the AsyncAPI document of the project's websocket routes, as JSON or
YAML, on standard output or in a file."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from typed_dcrf.management.project import ContractCommand
from typed_dcrf.management.pyyaml import needs_pyyaml


class Command(ContractCommand):
    help = "Write the AsyncAPI 3.0 document of ASGI_APPLICATION's websocket routes."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--format",
            choices=["json", "yaml"],
            default=None,
            help="default: yaml for a .yaml or .yml output, else json",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        document = self.document(options)
        output: Path | None = options["output"]
        fmt = options["format"] or (
            "yaml" if output and output.suffix in {".yaml", ".yml"} else "json"
        )
        text = _yaml(document) if fmt == "yaml" else json.dumps(document, indent=2) + "\n"
        self.write(text, output, document)


def _yaml(document: dict[str, Any]) -> str:
    with needs_pyyaml():
        import yaml
    # types-PyYAML leave a parameter of safe_dump partly unknown (its `width`).
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)  # pyright: ignore[reportUnknownMemberType]
    return text
