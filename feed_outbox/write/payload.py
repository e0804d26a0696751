"""Turning activity data into the JSON the outbox stores and Stream accepts, or a clear error."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from feed_outbox.exceptions import ActivityDataError
from feed_outbox.write.references import create_model_reference

# Stream returns and the client decodes exactly this format (UTC, six digits, no zone).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def to_utc(value: datetime.datetime) -> datetime.datetime:
    """An aware UTC datetime; a naive one is read in the project's TIME_ZONE, not assumed UTC."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.astimezone(datetime.UTC)


def format_time(value: datetime.datetime) -> str:
    return to_utc(value).strftime(TIME_FORMAT)


def format_activity_time(value: datetime.datetime) -> str:
    """The frozen ``time`` of an activity: naive means UTC here (``activity_time``'s convention)."""
    if value.tzinfo is None:
        return value.strftime(TIME_FORMAT)
    return format_time(value)


def parse_time(value: str) -> datetime.datetime:
    """Parse a stored/returned activity time into an aware UTC datetime."""
    return datetime.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=datetime.UTC)


def json_safe(value: Any, *, model: str, field: str) -> Any:
    """Return ``value`` with datetimes, dates, Decimals, UUIDs and model instances made JSON.

    Anything else that JSON cannot hold raises ActivityDataError naming model, field and type.
    """
    if isinstance(value, str):
        return _checked_text(value, model=model, field=field)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ActivityDataError(f"{model}: activity field {field!r} is {value!r}, not JSON")
        return value
    if isinstance(value, datetime.datetime):
        return format_time(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return create_model_reference(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ActivityDataError(
                    f"{model}: activity field {field!r} has a key of type "
                    f"{type(key).__name__}; JSON object keys must be strings"
                )
            key = _checked_text(key, model=model, field=f"{field} key")
            out[key] = json_safe(item, model=model, field=f"{field}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [json_safe(item, model=model, field=f"{field}[{i}]") for i, item in enumerate(value)]
    raise ActivityDataError(
        f"{model}: activity field {field!r} holds a {type(value).__module__}."
        f"{type(value).__qualname__}, which cannot be serialised to JSON"
    )


def _checked_text(value: str, *, model: str, field: str) -> str:
    """Text PostgreSQL's jsonb and Stream can hold: no NUL character, valid UTF-8."""
    if "\x00" in value:
        raise ActivityDataError(
            f"{model}: activity field {field!r} contains a NUL character (\\u0000), "
            "which PostgreSQL's jsonb cannot store"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ActivityDataError(
            f"{model}: activity field {field!r} is not valid UTF-8 text ({exc.reason})"
        ) from None
    return value


def payload_json(payload: dict[str, Any]) -> str:
    """The JSON text the outbox stores for ``payload`` (compact; jsonb keeps no spacing). ASCII
    only (the encoder escapes the rest), so its length is its size in bytes."""
    return _dumps(payload)


_dumps = json.JSONEncoder(separators=(",", ":")).encode
