"""Client errors: exceptions an action raises to send a non-2xx reply.

One hierarchy under ``APIError``, shaped like DRF's (``status_code``, ``default_detail``,
``default_code``). Developer mistakes use Django's ``ImproperlyConfigured`` or ``TypeError``
instead, so they never share a base with what clients are told.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar, TypeAlias

ErrorDetail: TypeAlias = "str | Sequence[str] | Mapping[str, ErrorDetail]"
"""A message, a list of messages, or field errors nested the way DRF nests them."""


class APIError(Exception):
    """Base of every error a client may see; subclass it for your own statuses."""

    status_code: ClassVar[int] = 400
    default_detail: ClassVar[str] = "Bad request."
    default_code: ClassVar[str] = "error"

    def __init__(self, detail: ErrorDetail | None = None, code: str | None = None) -> None:
        self.detail: ErrorDetail = self.default_detail if detail is None else detail
        self.code: str = self.default_code if code is None else code
        super().__init__(self.detail)


class ValidationError(APIError):
    """400 with field errors, e.g. ``ValidationError({"name": ["Too long."]})``."""

    status_code = 400
    default_detail = "Invalid input."
    default_code = "invalid"


class ParseError(APIError):
    """400 for a frame that is not a JSON object with a string ``action``."""

    status_code = 400
    default_detail = "Malformed request."
    default_code = "parse_error"


class NotAuthenticated(APIError):
    """401: the action needs an authenticated user."""

    status_code = 401
    default_detail = "Authentication credentials were not provided."
    default_code = "not_authenticated"


class PermissionDenied(APIError):
    """403: the user may not run this action."""

    status_code = 403
    default_detail = "You do not have permission to perform this action."
    default_code = "permission_denied"


class NotFound(APIError):
    """404: the object does not exist (or is hidden from this user)."""

    status_code = 404
    default_detail = "Not found."
    default_code = "not_found"


class MethodNotAllowed(APIError):
    """405: no action of that name (or no ``action`` key at all)."""

    status_code = 405
    default_detail = "Method not allowed."
    default_code = "method_not_allowed"

    def __init__(self, action: object, detail: ErrorDetail | None = None) -> None:
        super().__init__(f'Method "{action}" not allowed.' if detail is None else detail)


class Gone(APIError):
    """410: what the client asked to resume from is no longer kept: start again."""

    status_code = 410
    default_detail = "Gone."
    default_code = "gone"


class Throttled(APIError):
    """429: too many requests; ``wait`` is the number of seconds until the next may pass."""

    status_code = 429
    default_detail = "Request was throttled."
    default_code = "throttled"

    def __init__(self, wait: float | None = None, detail: ErrorDetail | None = None) -> None:
        self.wait: int | None = None if wait is None else math.ceil(wait)
        if detail is None:
            detail = self.default_detail
            if self.wait is not None:
                unit = "second" if self.wait == 1 else "seconds"
                detail = f"{detail} Expected available in {self.wait} {unit}."
        super().__init__(detail)


class ServerError(APIError):
    """500: what clients see for any unexpected exception (details stay in the log)."""

    status_code = 500
    default_detail = "A server error occurred."
    default_code = "error"


class ServiceUnavailable(APIError):
    """503: the database or the channel layer cannot be reached; the client may try again."""

    status_code = 503
    default_detail = "Service temporarily unavailable, try again later."
    default_code = "service_unavailable"
