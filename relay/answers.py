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
from dataclasses import dataclass
from typing import Any

from stream import exceptions as stream_exceptions

from feed_outbox.stream_errors import FEED_CONFIG, names_a_bad_token

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

    @classmethod
    def of(cls, exc: BaseException) -> Answer | None:
        """The answer behind a stream-python exception (None for anything else)."""
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
        return bool(_json_object(self.raw)) or self.detail != f"GetStreamAPI{self.status}"

    def names_a_bad_token(self) -> bool:
        return names_a_bad_token(self.code, self.detail)

    def unknown_feed_groups(self) -> set[str]:
        """The groups a FeedConfigException says are not configured (its detail quotes them)."""
        if self.code != FEED_CONFIG:
            return set()
        return set(_QUOTED.findall(self.detail))


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
