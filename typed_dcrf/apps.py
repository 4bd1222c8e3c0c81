"""typed_dcrf as a Django app: with it in ``INSTALLED_APPS``, every process imports each
installed app's ``consumers`` module at start-up (``OBSERVER_MODULES``), so that its observers
send events for saves made anywhere: a worker, a management command, the shell; and the
changes that end a user's access (logout, deactivation...) reach that user's connections."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules

from typed_dcrf.conf import get_settings


class TypedDCRFConfig(AppConfig):
    name: str = "typed_dcrf"

    def ready(self) -> None:
        from typed_dcrf._access import connect_signals

        connect_signals()
        autodiscover_modules(*get_settings().observer_modules)
