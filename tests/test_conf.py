"""Settings: TYPED_DCRF is validated into a typed object and re-read when overridden."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from typed_dcrf.conf import Settings, get_settings


def test_defaults_without_the_setting() -> None:
    """With no TYPED_DCRF setting every option has its documented default."""
    settings = get_settings()
    assert settings == Settings.model_validate({})
    assert settings.allow_unknown_arguments is False
    assert settings.max_frame_bytes == 524_288  # below daphne's own 1 MiB cap
    assert settings.max_detached_actions == 16


def test_overrides_are_read_and_then_forgotten() -> None:
    """override_settings changes the options and restoring it restores them."""
    with override_settings(TYPED_DCRF={"ALLOW_UNKNOWN_ARGUMENTS": True, "MAX_FRAME_BYTES": 10}):
        settings = get_settings()
        assert settings.allow_unknown_arguments is True
        assert settings.max_frame_bytes == 10
    assert get_settings().max_frame_bytes == 524_288


@pytest.mark.parametrize(
    "value",
    [{"NO_SUCH_OPTION": 1}, {"MAX_FRAME_BYTES": 0}, {"MAX_DETACHED_ACTIONS": "many"}],
)
def test_invalid_settings_are_improperly_configured(value: dict[str, object]) -> None:
    """Unknown keys and invalid values fail loudly, naming the setting."""
    with (
        override_settings(TYPED_DCRF=value),
        pytest.raises(ImproperlyConfigured, match="TYPED_DCRF"),
    ):
        get_settings()


def test_settings_are_immutable() -> None:
    """The settings object cannot be changed at run time."""
    with pytest.raises(ValueError, match="frozen"):
        get_settings().max_frame_bytes = 1
