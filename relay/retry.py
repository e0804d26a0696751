"""What a failed Stream call means (retry, dead-letter, or stop: bad configuration) and backoff."""

from __future__ import annotations

import enum
import random

import requests
from django.core.exceptions import ImproperlyConfigured
from stream import exceptions as stream_exceptions


class Failure(enum.Enum):
    RETRYABLE = "retryable"  # timeouts, connection errors, 5xx, 429: try again later
    PERMANENT = "permanent"  # Stream rejects the event's own data: dead-letter after N tries
    CONFIGURATION = "configuration"  # bad key/secret, suspended app: pause, dead-letter nothing


PERMANENT_CODES = frozenset({4, 5, 6, 8, 10, 11, 12, 13, 15, 16, 17})
CONFIGURATION_CODES = frozenset({2, 3, 7})
RATE_LIMIT_CODE = 9


class LeaseExpiring(Exception):
    """The lease would end before a request could finish: sending could reorder a key."""


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, ImproperlyConfigured):  # no credentials: no event can go out
        return Failure.CONFIGURATION
    if isinstance(exc, (requests.Timeout, requests.ConnectionError, LeaseExpiring)):
        return Failure.RETRYABLE
    if isinstance(exc, stream_exceptions.StreamApiException):
        code = getattr(exc, "code", None)
        status = getattr(exc, "status_code", None) or 0
        if code in CONFIGURATION_CODES:
            return Failure.CONFIGURATION
        if code == RATE_LIMIT_CODE or status == 429 or status >= 500:
            return Failure.RETRYABLE
        if code in PERMANENT_CODES:
            return Failure.PERMANENT
        return Failure.RETRYABLE
    if isinstance(exc, requests.RequestException):
        return Failure.RETRYABLE
    # A bug or bad payload on our side: retrying will not fix it.
    return Failure.PERMANENT


def describe(exc: BaseException) -> str:
    """A one-line description for logs and the outbox's last_error (never a credential)."""
    name = type(exc).__name__
    code = getattr(exc, "code", None)
    status = getattr(exc, "status_code", None)
    detail = str(exc).strip() or name
    parts = [name]
    if code is not None:
        parts.append(f"code {code}")
    if status:
        parts.append(f"HTTP {status}")
    return _scrub(f"{' '.join(parts)}: {detail}")[:2000]


def _scrub(text: str) -> str:
    # Defence in depth: no message Stream or requests produce should hold the secret, but a
    # future one must not put it into logs or the outbox table either.
    from feed_outbox import conf

    try:
        secret = conf.get("STREAM_API_SECRET")
    except Exception:  # settings not configured (a unit test of describe())
        secret = None
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[secret]")
    return text


def backoff_seconds(attempt: int, base: float = 0.5, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
    return random.uniform(0, min(cap, base * (2 ** max(attempt - 1, 0))))
