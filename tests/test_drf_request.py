"""The DRF request built from a websocket scope: what hyperlinks, throttles and filters read."""

from __future__ import annotations

from typing import Any

from typed_dcrf._drf import drf_request


def test_the_host_header_among_others_and_a_wss_scheme_make_the_absolute_urls(
    settings: Any,
) -> None:
    settings.ALLOWED_HOSTS = ["api.example"]
    scope = {
        "type": "websocket",
        "scheme": "wss",
        "path": "/ws/items/",
        "headers": [(b"origin", b"https://app.example"), (b"host", b"api.example:8443")],
        "client": ("10.1.2.3", 50000),
    }
    request = drf_request(scope, "GET", {"name": ["a", "b"]})
    assert request.build_absolute_uri("/items/1/") == "https://api.example:8443/items/1/"
    assert request.META["REMOTE_ADDR"] == "10.1.2.3"
    assert request.query_params.getlist("name") == ["a", "b"]
