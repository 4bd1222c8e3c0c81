"""Typed settings: the ``TYPED_DCRF`` dict of Django settings, validated once.

Read lazily, cached, and re-read whenever a test overrides ``TYPED_DCRF``.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

SETTING_NAME = "TYPED_DCRF"


class Settings(BaseModel):
    """Every option of ``settings.TYPED_DCRF``, with its default."""

    model_config: ClassVar[ConfigDict] = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True
    )

    allow_unknown_arguments: bool = Field(False, alias="ALLOW_UNKNOWN_ARGUMENTS")
    """Ignore frame keys that are not parameters of the action, instead of a 400."""

    max_frame_bytes: int = Field(524_288, gt=0, alias="MAX_FRAME_BYTES")
    """Larger text frames are a 400, unparsed. Keep it below the server's own cap (daphne:
    1 MiB, uvicorn: 16 MiB), which drops or closes the connection instead."""

    max_nesting: int = Field(32, gt=0, alias="MAX_NESTING")
    """Frames whose arrays and objects nest deeper are refused with a 400."""

    max_arguments: int = Field(64, gt=0, alias="MAX_ARGUMENTS")
    """Frames with more keys besides ``action`` and ``request_id`` are a 400 (before the
    arguments are validated, so that no reply lists thousands of unknown keys)."""

    max_detached_actions: int = Field(16, gt=0, alias="MAX_DETACHED_ACTIONS")
    """Detached actions one connection may run at once; more are refused with a 429."""

    max_subscriptions: int = Field(100, gt=0, alias="MAX_SUBSCRIPTIONS")
    """Subscriptions one connection may hold at once; more are refused with a 429."""

    max_outgoing_events: int = Field(256, gt=0, alias="MAX_OUTGOING_EVENTS")
    """Events that may wait for a client that reads slowly (the latest per subscription and
    row); with more, the connection is closed with 4429."""

    outgoing_high_water: int = Field(1_048_576, gt=0, alias="OUTGOING_HIGH_WATER")
    """Bytes the server may hold for a client before its events wait in typed_dcrf (where the
    server lets that be seen: uvicorn)."""

    layer_check_seconds: float = Field(5.0, ge=0, alias="LAYER_CHECK_SECONDS")
    """While a process has subscriptions, how often it checks that the Redis of its channel
    layer did not restart (nor became unreachable) meanwhile; when it did, every subscription
    of the process ends with a 503 frame, so that its client subscribes again. 0: never."""

    observer_modules: tuple[str, ...] = Field(("consumers",), alias="OBSERVER_MODULES")
    """The modules of every installed app imported at start-up (with ``typed_dcrf`` in
    ``INSTALLED_APPS``), so that their observers send events from every process."""


@functools.cache
def get_settings() -> Settings:
    """The current settings, validated (``ImproperlyConfigured`` names a wrong key)."""
    raw: dict[str, Any] = getattr(django_settings, SETTING_NAME, {})
    try:
        return Settings.model_validate(raw)
    except PydanticValidationError as exc:
        raise ImproperlyConfigured(f"settings.{SETTING_NAME} is invalid: {exc}") from exc


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: object) -> None:
    if setting == SETTING_NAME:
        get_settings.cache_clear()
