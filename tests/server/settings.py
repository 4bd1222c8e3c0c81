"""Django settings of the real-server tests: the test app on a SQLite file named by the
environment (each server run has its own), and the in-memory channel layer."""

from __future__ import annotations

import os

SECRET_KEY = "typed-dcrf-server-tests"
USE_TZ = True
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "channels",
    "rest_framework",
    "tests.app",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TYPED_DCRF_SERVER_DB", ":memory:"),
    }
}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "tests.urls"
ASGI_APPLICATION = "tests.server.asgi.application"
TYPED_DCRF = {"MAX_FRAME_BYTES": 65_536}
"""Below both servers' own caps (daphne 1 MiB, uvicorn 16 MiB), so typed_dcrf answers."""
