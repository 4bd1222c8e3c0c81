"""The signals typed_dcrf connects to end access, as the installed apps allow."""

from __future__ import annotations

from django.conf import settings
from django.db.models.signals import post_delete
from django.test import override_settings
from rest_framework.authtoken.models import Token

from typed_dcrf._access import ACCESS, connect_signals


def test_without_drfs_authtoken_app_no_token_signal_is_connected() -> None:
    """A project without rest_framework.authtoken connects no receiver of its Token's
    deletion (in such a project, a lazy reference to a model of an app not installed would be
    an error of Django's checks); with it, a deleted token is heard of."""
    assert post_delete.has_listeners(Token)
    installed = [app for app in settings.INSTALLED_APPS if app != "rest_framework.authtoken"]
    # django-stubs leave Signal.disconnect partly unknown to pyright.
    post_delete.disconnect(sender=Token, dispatch_uid=ACCESS)  # pyright: ignore[reportUnknownMemberType]
    try:
        with override_settings(INSTALLED_APPS=installed):  # typed_dcrf's ready() runs again
            assert not post_delete.has_listeners(Token)
    finally:
        connect_signals()
    assert post_delete.has_listeners(Token)
