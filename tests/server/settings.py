"""Django settings of the real-server tests: the test suite's, on a SQLite file named by the
environment (each server run has its own)."""

from __future__ import annotations

import os

# The test suite's own, as they are.
from tests.settings import CHANNEL_LAYERS as CHANNEL_LAYERS
from tests.settings import DEFAULT_AUTO_FIELD as DEFAULT_AUTO_FIELD
from tests.settings import INSTALLED_APPS as INSTALLED_APPS
from tests.settings import ROOT_URLCONF as ROOT_URLCONF
from tests.settings import SECRET_KEY as SECRET_KEY
from tests.settings import USE_TZ as USE_TZ

ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TYPED_DCRF_SERVER_DB", ":memory:"),
    }
}
ASGI_APPLICATION = "tests.server.asgi.application"
TYPED_DCRF = {"MAX_FRAME_BYTES": 65_536, "MAX_OUTGOING_EVENTS": 16, "MAX_SUBSCRIPTIONS": 200}
"""Frames below both servers' own caps (daphne 1 MiB, uvicorn 16 MiB), so typed_dcrf answers;
few events waiting for a client that does not read, so that one is closed soon."""
