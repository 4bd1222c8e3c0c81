"""Imports: the public surface of typed_dcrf, and the modules usable before Django's settings."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import typed_dcrf

ROOT = Path(__file__).resolve().parent.parent

WITHOUT_SETTINGS = [
    "typed_dcrf",
    "typed_dcrf.actions",
    "typed_dcrf.conf",
    "typed_dcrf.consumers",
    "typed_dcrf.context",
    "typed_dcrf.db",
    "typed_dcrf.exceptions",
    "typed_dcrf.pagination",
    "typed_dcrf.permissions",
    "typed_dcrf.responses",
    "typed_dcrf.tasks",
    "typed_dcrf.types",
]
"""The public modules a settings file, an app's models or a script may import before
``django.setup()``, as DRF's own."""


def test_public_names_are_sorted_and_each_resolves() -> None:
    """__all__ is sorted, lists every lazily exported name, and each one imports."""
    exports = typed_dcrf._EXPORTS  # pyright: ignore[reportPrivateUsage]
    assert typed_dcrf.__all__ == sorted(typed_dcrf.__all__)
    assert set(typed_dcrf.__all__) == set(exports)
    for name, module in exports.items():
        assert getattr(typed_dcrf, name) is getattr(importlib.import_module(module), name)
    assert set(typed_dcrf.__all__) <= set(dir(typed_dcrf))


def test_no_public_name_is_also_a_module_name() -> None:
    """Importing a submodule sets the package's attribute of its name, so an exported name
    that is also a module's would turn into that module once anything imports it."""
    modules = {module.name for module in pkgutil.iter_modules(typed_dcrf.__path__)}
    assert set(typed_dcrf.__all__) & modules == set()


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A name typed_dcrf does not export raises AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = typed_dcrf.Nope


def test_modules_import_before_django_settings_are_configured() -> None:
    """In a fresh interpreter with no DJANGO_SETTINGS_MODULE, these modules import, and
    `from typed_dcrf import Response, NotFound, action` works."""
    environment = {
        key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"
    }
    code = "; ".join(
        [
            *(f"import {module}" for module in WITHOUT_SETTINGS),
            "from typed_dcrf import Response, NotFound, action, BasePermission",
            "from django.conf import settings",
            "assert not settings.configured",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
