"""The one place where an exception becomes a reply status and an ``errors`` list.

Client errors (typed_dcrf's, DRF's, Django's 404, PermissionDenied and SuspiciousOperation)
keep their status and message; a database or channel layer that cannot be reached is a 503, as
is typed_dcrf's ``ServiceUnavailable`` (with its own message); anything else, and every other
5xx, is a reply with a generic message, logged here with its traceback.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import cast

from django.core.exceptions import (
    ObjectDoesNotExist,
    SuspiciousOperation,
    SynchronousOnlyOperation,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework.exceptions import APIException

from typed_dcrf._envelope import NonFiniteFloatError
from typed_dcrf.exceptions import (
    APIError,
    NotFound,
    PermissionDenied,
    ServerError,
    ServiceUnavailable,
    Throttled,
)
from typed_dcrf.types import ErrorList, JSONObject, JSONValue

logger = logging.getLogger("typed_dcrf")

OBJECT_NOT_FOUND = "Not found"
"""The 404 detail for a missing object (``Http404``, ``DoesNotExist``): DCRF's exact text."""

SYNC_ONLY_HINT = (
    "%s touched the database from async code. Run ORM calls through "
    "typed_dcrf.db.run(...) or @typed_dcrf.db.database_sync, or make the action a sync method."
)
NON_FINITE_HINT = (
    "%s produced inf or NaN, which JSON cannot carry; return a finite number or None instead."
)


def _plain(detail: object) -> JSONValue:
    """DRF/typed_dcrf error detail as plain JSON (ErrorDetail strings become str)."""
    if isinstance(detail, Mapping):
        items = cast("Mapping[object, object]", detail).items()
        return {str(key): _plain(value) for key, value in items}
    if isinstance(detail, list | tuple):
        return [_plain(item) for item in cast("Sequence[object]", detail)]
    return str(detail)


def format_errors(detail: object) -> ErrorList:
    """Wrap a detail the way DCRF does: a dict or a message in a list, a list as it is."""
    plain = _plain(detail)
    return plain if isinstance(plain, list) else [plain]


def _redis_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    try:
        import redis.exceptions  # channels-redis's dependency, where its layer is used
    except ImportError:
        return (), ()
    timeout = redis.exceptions.TimeoutError
    return (redis.exceptions.ConnectionError, timeout), (timeout,)


LAYER_UNAVAILABLE, LAYER_TIMEOUT = _redis_errors()
"""What a Redis channel layer that cannot be reached (refused, cut, timed out) raises; what it
raises when a read timed out (``socket_timeout``)."""

DB_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
"""What a database raises when it cannot be reached, and for much else (a missing table, a
statement timeout): only the error marked ``unreachable`` is a 503."""

_UNREACHABLE = "typed_dcrf_unreachable"


def mark_unreachable(exc: BaseException) -> None:
    """``exc`` came with a database connection found broken (refused, cut): a 503."""
    setattr(exc, _UNREACHABLE, True)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the channel layer or the database cannot be reached."""
    return isinstance(exc, LAYER_UNAVAILABLE) or getattr(exc, _UNREACHABLE, False) is True


def _client_error(exc: BaseException) -> APIError | APIException | None:
    if isinstance(exc, APIError | APIException):
        return exc
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return NotFound(OBJECT_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        return PermissionDenied()
    if isinstance(exc, SuspiciousOperation):  # a disallowed Host header, say: a 400, as Django
        logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        return APIError()
    return None


def handle_exception(exc: BaseException, where: str) -> tuple[int, ErrorList]:
    """Return ``(status, errors)`` for ``exc``, raised in ``where`` (such as ``action 'echo'``);
    a server error is logged with its traceback and answered with a generic message."""
    error = _client_error(exc)
    if error is not None and error.status_code < 500:
        return error.status_code, format_errors(error.detail)
    if isinstance(error, ServiceUnavailable):  # the app's own: its message is for the client
        logger.error("A service is unavailable in %s", where, exc_info=exc)
        return ServiceUnavailable.status_code, format_errors(error.detail)
    if unavailable(exc):
        logger.error("A service is unavailable in %s", where, exc_info=exc)
        return ServiceUnavailable.status_code, [ServiceUnavailable.default_detail]
    if isinstance(exc, SynchronousOnlyOperation):
        logger.error(SYNC_ONLY_HINT, where, exc_info=exc)
    elif isinstance(exc, NonFiniteFloatError):
        logger.error(NON_FINITE_HINT, where, exc_info=exc)
    else:
        logger.error("Unhandled exception in %s", where, exc_info=exc)
    status = ServerError.status_code if error is None else error.status_code
    return status, [ServerError.default_detail]


def retry_after(exc: BaseException) -> JSONObject | None:
    """A throttled reply's ``data``: ``{"wait": seconds}``, where the error says (typed_dcrf's
    ``Throttled`` or DRF's own)."""
    wait: object = getattr(exc, "wait", None)
    throttled = getattr(exc, "status_code", None) == Throttled.status_code
    return {"wait": math.ceil(wait)} if throttled and isinstance(wait, int | float) else None
