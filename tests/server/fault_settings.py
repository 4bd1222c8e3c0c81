"""Django settings of the fault tests' servers: the real-server tests' own, on a Redis channel
layer the test started (and restarts), checked for a restart every half second."""

from __future__ import annotations

import os
from typing import Any

# The real-server tests' own, as they are.
from tests.server.settings import ALLOWED_HOSTS as ALLOWED_HOSTS
from tests.server.settings import ASGI_APPLICATION as ASGI_APPLICATION
from tests.server.settings import DATABASES as DATABASES
from tests.server.settings import DEFAULT_AUTO_FIELD as DEFAULT_AUTO_FIELD
from tests.server.settings import INSTALLED_APPS as INSTALLED_APPS
from tests.server.settings import ROOT_URLCONF as ROOT_URLCONF
from tests.server.settings import SECRET_KEY as SECRET_KEY
from tests.server.settings import TYPED_DCRF as SERVER_TYPED_DCRF
from tests.server.settings import USE_TZ as USE_TZ
from tests.settings import REDIS_LAYER

_HOST = {"address": os.environ.get("TYPED_DCRF_FAULT_REDIS", ""), "socket_timeout": None}
CHANNEL_LAYERS = {"default": {**REDIS_LAYER, "CONFIG": {**REDIS_LAYER["CONFIG"], "hosts": [_HOST]}}}
TYPED_DCRF: dict[str, Any] = {**SERVER_TYPED_DCRF, "LAYER_CHECK_SECONDS": 0.5}
