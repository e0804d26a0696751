"""What a failed Stream call means (retry, dead-letter, or stop: bad configuration) and backoff."""

from __future__ import annotations

import enum
import random

import requests
import urllib3
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


def may_still_land(exc: BaseException) -> bool:
    """Whether Stream may apply the failed request later: it was sent and no answer said no.

    A read timeout or a dropped connection leaves the request at Stream (the emulator applies
    a write whose latency outlasts the client's timeout); a 5xx may come from a gateway in
    front of a backend still working on it. A refused connection, a connect timeout, a 4xx,
    a 429 and a request never sent (LeaseExpiring) cannot land. No Stream source says how
    long a request may stay in flight on its side: FEED_OUTBOX_LANDING_SECONDS is our bound.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return not isinstance(reason, urllib3.exceptions.NewConnectionError)
    if isinstance(exc, requests.Timeout):
        return True
    if isinstance(exc, stream_exceptions.StreamApiException):
        return (getattr(exc, "status_code", None) or 0) >= 500
    return False


def retry_delay(exc: BaseException, attempt: int, base: float, landing_seconds: float) -> float:
    """Seconds before an event is tried again. An event whose last request may still land is
    held (and with it its key and the events that must follow it) until that request can no
    longer be applied: otherwise a later event of the key (a remove) could be overtaken by
    the late write it follows (issue 12, late landings)."""
    delay = backoff_seconds(attempt, base=base)
    if may_still_land(exc):
        delay = max(delay, landing_seconds)
    return delay


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
