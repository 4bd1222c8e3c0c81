"""``manage.py typescript_client``: the TypeScript client of the project's websocket routes,
on standard output or in a file."""

from __future__ import annotations

from typing import Any

from typed_dcrf.management.project import ContractCommand
from typed_dcrf.typescript import typescript_client


class Command(ContractCommand):
    help = "Write the typed TypeScript client of ASGI_APPLICATION's websocket routes."

    def handle(self, *args: Any, **options: Any) -> None:
        document = self.document(options)
        self.write(typescript_client(document), options["output"], document)
