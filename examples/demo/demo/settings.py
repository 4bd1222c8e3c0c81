"""The demo's settings: SQLite and the in-memory channel layer, or, with ``DEMO_SERVICES=1``,
PostgreSQL and Redis (several server processes then serve one board together)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
SERVICES = os.environ.get("DEMO_SERVICES") == "1"

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "typed-dcrf-demo: not for production")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "typed_dcrf",
    "board",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "demo.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
ASGI_APPLICATION = "demo.asgi.application"
STATIC_URL = "static/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

POSTGRESQL = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": os.environ.get("DEMO_DB_NAME", "typed_dcrf_demo"),
    "USER": os.environ.get("DEMO_DB_USER", "postgres"),
    "HOST": "127.0.0.1",
    "PORT": "5432",
}
SQLITE = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": os.environ.get("DEMO_DB_FILE", str(BASE_DIR / "db.sqlite3")),
}
REDIS_LAYER = {
    "BACKEND": "channels_redis.core.RedisChannelLayer",
    "CONFIG": {
        "hosts": [{"address": "redis://127.0.0.1:6379", "socket_timeout": None}],
        "prefix": os.environ.get("DEMO_REDIS_PREFIX", "typed_dcrf_demo"),
    },
}
IN_MEMORY_LAYER = {"BACKEND": "channels.layers.InMemoryChannelLayer"}
DATABASES = {"default": POSTGRESQL if SERVICES else SQLITE}
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": REDIS_LAYER if SERVICES else IN_MEMORY_LAYER
}
