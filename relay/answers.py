"""Stream's error answers as the relay meets them: status, code, exception, detail, raw body.

The answers the real service gives, each with its source, are in ``docs/stream-errors.md``;
the emulator answers the same. stream-python keeps only the HTTP status and the detail of an
answer and picks its exception class by ``code`` (an unknown code becomes a plain
StreamApiException with code 1), so the relay's HTTP sessions keep the raw body too
(``RAW_ATTRIBUTE``, set by ``relay.pool``) and this module reads the real code from it.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

from stream import exceptions as stream_exceptions

from feed_outbox.stream_api.errors import FEED_CONFIG, names_a_bad_token

# Set on a StreamApiException by the pool: (HTTP status, body text) of the answer.
RAW_ATTRIBUTE = "stream_answer"
RAW_LIMIT = 1000  # characters of a raw answer worth keeping in last_error
_QUOTED = re.compile(r"'([^']+)'")


@dataclass(frozen=True)
class Answer:
    """One error answer: HTTP status, Stream's code, exception name and detail, and the body."""

    status: int
    code: int | None
    exception: str
    detail: str
    raw: str = ""
    api: str = "v2"  # whose codes these are: v2's and v3's differ (relay.retry)

    @classmethod
    def of(cls, exc: BaseException) -> Answer | None:
        """The answer behind a stream-python or getstream exception (None for anything else)."""
        v3 = _v3_answer(exc)
        if v3 is not None:
            return v3
        if not isinstance(exc, stream_exceptions.StreamApiException):
            return None
        status, raw = getattr(exc, RAW_ATTRIBUTE, None) or (None, "")
        body = _json_object(raw)
        status = status or getattr(exc, "status_code", None) or 0
        code = body.get("code") if isinstance(body.get("code"), int) else None
        if code is None and not raw:
            code = getattr(exc, "code", None)  # no raw body kept: the client's reading of it
        exception = body.get("exception") if isinstance(body.get("exception"), str) else ""
        detail = body.get("detail") if isinstance(body.get("detail"), str) else None
        if detail is None:
            detail = str(getattr(exc, "detail", "") or exc)
        return cls(int(status), code, exception or type(exc).__name__, detail, raw[:RAW_LIMIT])

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two answers the same failure."""
        return (self.status, self.code, self.exception, self.detail)

    @property
    def json(self) -> bool:
        """False when the body was not Stream's JSON (a proxy's page, a wrong base URL)."""
        if self.api == "v3":
            return bool(_json_object(self.raw))
        return bool(_json_object(self.raw)) or self.detail != f"GetStreamAPI{self.status}"

    def names_a_bad_token(self) -> bool:
        if self.api == "v3":
            return False  # v3 answers token problems with 401 and their own codes
        return names_a_bad_token(self.code, self.detail)

    def unknown_feed_groups(self) -> set[str]:
        """The groups a FeedConfigException says are not configured (its detail quotes them)."""
        if self.api == "v3":
            # v3: 404/16 "feed group 'name' does not exist"
            if self.code != 16 or "feed group" not in self.detail:
                return set()
        elif self.code != FEED_CONFIG:
            return set()
        return set(_QUOTED.findall(self.detail))


def _v3_answer(exc: BaseException) -> Answer | None:
    """A getstream StreamApiException: the SDK keeps status, code, message and the body."""
    # Looked up, not imported: without the SDK loaded no exception can be one of its own (and
    # a v2 relay must not pay its import on a failure).
    module = sys.modules.get("getstream.exceptions")
    if module is None or not isinstance(exc, module.StreamApiException):
        return None
    raw = exc.raw_response_body or ""
    code = exc.code if exc.api_error is not None or _json_object(raw) else None
    return Answer(
        int(exc.status_code or 0),
        code,
        type(exc).__name__,
        exc.message or "",
        raw[:RAW_LIMIT],
        api="v3",
    )


def _json_object(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def keep_raw_answer(exc: BaseException, response: Any) -> None:
    """Remember the answer ``exc`` was raised for (the pool calls this with the last response)."""
    if response is None or not isinstance(exc, stream_exceptions.StreamApiException):
        return
    try:
        text = response.text
    except Exception:  # undecodable body: the status still says something
        text = ""
    setattr(exc, RAW_ATTRIBUTE, (response.status_code, text[: RAW_LIMIT * 4]))
