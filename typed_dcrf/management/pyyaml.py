"""PyYAML for the commands that read or write YAML (the ``yaml`` extra)."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager

from django.core.management.base import CommandError


@contextmanager
def needs_pyyaml() -> Generator[None]:
    """Around ``import yaml``: where PyYAML is missing, a ``CommandError`` saying how to
    install it."""
    try:
        yield
    except ImportError:
        msg = 'YAML needs PyYAML: pip install pyyaml (or pip install "typed_dcrf[yaml]").'
        raise CommandError(msg) from None
