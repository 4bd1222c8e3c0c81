"""Django settings of the authentication tests on real servers: the real-server settings, with
sessions over HTTP and the authentication ASGI application (the Redis layer comes from the
environment: TEST_LAYER=redis and TYPED_DCRF_REDIS_PREFIX)."""

from __future__ import annotations

from tests.server.settings import CHANNEL_LAYERS as CHANNEL_LAYERS
from tests.server.settings import DATABASES as DATABASES
from tests.server.settings import DEFAULT_AUTO_FIELD as DEFAULT_AUTO_FIELD
from tests.server.settings import INSTALLED_APPS as INSTALLED_APPS
from tests.server.settings import SECRET_KEY as SECRET_KEY
from tests.server.settings import USE_TZ as USE_TZ

ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tests.server.auth_urls"
ASGI_APPLICATION = "tests.server.auth_asgi.application"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
# The users' passwords need no strength here: hashed fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
