"""Django settings for the test suite: SQLite by default, PostgreSQL with TEST_DB=postgres."""

from __future__ import annotations

import os
from typing import Any

SECRET_KEY = "typed-dcrf-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "typed_dcrf",
    "tests.app",
]
POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    # A subprocess of a test names the test's own database here.
    "NAME": os.environ.get("TYPED_DCRF_DB_NAME", "test"),
    "USER": "postgres",
    "HOST": "127.0.0.1",
    "PORT": "5432",
    # One test database per run, so that runs in parallel do not drop each other's.
    "TEST": {"NAME": f"test_typed_dcrf_{os.getpid()}"},
}
SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
ON_POSTGRES = os.environ.get("TEST_DB") == "postgres"
DATABASES = {
    "default": POSTGRES if ON_POSTGRES else SQLITE,
    # A second database, for observers of rows that live elsewhere (created only for the tests
    # that ask for it).
    "other": (
        {**POSTGRES, "TEST": {"NAME": f"test_typed_dcrf_other_{os.getpid()}"}}
        if ON_POSTGRES
        else {**SQLITE}
    ),
}
IN_MEMORY_LAYER = {"BACKEND": "channels.layers.InMemoryChannelLayer"}
REDIS_LAYER: dict[str, Any] = {
    "BACKEND": "channels_redis.core.RedisChannelLayer",
    "CONFIG": {
        # redis-py 8 times out blocking reads after 5 s unless told not to (channels_redis#422).
        "hosts": [{"address": "redis://127.0.0.1:6379", "socket_timeout": None}],
        # One run's keys apart from another's; its subprocesses are given the same prefix.
        "prefix": os.environ.get("TYPED_DCRF_REDIS_PREFIX", f"typed_dcrf_test_{os.getpid()}"),
    },
}
CHANNEL_LAYERS = {
    "default": REDIS_LAYER if os.environ.get("TEST_LAYER") == "redis" else IN_MEMORY_LAYER
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Hyperlinked serializer fields reverse these routes into absolute URLs.
ROOT_URLCONF = "tests.urls"
# The host of the websocket scope's `host` header, which absolute URLs are built from (Django's
# test setup adds "testserver" too; set here so the suite does not depend on it).
ALLOWED_HOSTS = ["testserver"]
