"""Django settings for the test suite: SQLite by default, PostgreSQL with TEST_DB=postgres."""

from __future__ import annotations

import os

SECRET_KEY = "typed-dcrf-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "channels",
    "rest_framework",
    "tests.app",
]
POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "test",
    "USER": "postgres",
    "HOST": "127.0.0.1",
    "PORT": "5432",
}
SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
DATABASES = {"default": POSTGRES if os.environ.get("TEST_DB") == "postgres" else SQLITE}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
