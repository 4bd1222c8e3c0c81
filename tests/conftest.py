"""Fixtures for every test (typed_dcrf's own pytest plugin closes the database thread's
connections after each one)."""

from __future__ import annotations

pytest_plugins = ["pytester"]
