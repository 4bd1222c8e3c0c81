"""Django settings of a real server on PostgreSQL, for the database fault tests: the real-server
tests' own, on the test's database, reached through the port the test names (its proxy), with
persistent connections (a cut one is then one Django would reuse, unless it is closed)."""

from __future__ import annotations

import os

# The real-server tests' own, as they are.
from tests.server.settings import ALLOWED_HOSTS as ALLOWED_HOSTS
from tests.server.settings import ASGI_APPLICATION as ASGI_APPLICATION
from tests.server.settings import CHANNEL_LAYERS as CHANNEL_LAYERS
from tests.server.settings import DEFAULT_AUTO_FIELD as DEFAULT_AUTO_FIELD
from tests.server.settings import INSTALLED_APPS as INSTALLED_APPS
from tests.server.settings import ROOT_URLCONF as ROOT_URLCONF
from tests.server.settings import SECRET_KEY as SECRET_KEY
from tests.server.settings import TYPED_DCRF as TYPED_DCRF
from tests.server.settings import USE_TZ as USE_TZ
from tests.settings import POSTGRES

DATABASES = {
    "default": {
        **POSTGRES,
        "PORT": os.environ.get("TYPED_DCRF_DB_PORT", "5432"),
        "CONN_MAX_AGE": None,
    }
}
