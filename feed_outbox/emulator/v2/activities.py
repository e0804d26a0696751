"""Activity values: validation of incoming activities, Stream's time format and time-based ids."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import uuid
from typing import Any

from .errors import ApiError, input_error

# Stream answers times in exactly this shape; it also sorts lexicographically.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
_CANONICAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
_FEED_ID = re.compile(r"^([\w-]+):([\w-]+)$")
# 100-ns ticks between the UUID epoch (1582-10-15) and the Unix epoch
_UUID_EPOCH_OFFSET = 0x01B21DD213814000
_UTC = dt.UTC
_REQUIRED = ("actor", "verb", "object")
# fields the server owns; a client-sent value is ignored rather than stored
_SERVER_FIELDS = ("id", "origin", "duration")
MAX_TO_TARGETS = 100
MAX_ACTIVITY_BYTES = 10 * 1024  # "activities are limited in size (10KB)", Stream's docs


def now_time() -> str:
    return dt.datetime.now(_UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def parse_time(value: Any, field: str = "time") -> str:
    """Normalise a client time to Stream's UTC `YYYY-MM-DDTHH:MM:SS.ffffff`."""
    if isinstance(value, str):
        if _CANONICAL_TIME.match(value):
            return value
        try:
            parsed = dt.datetime.fromisoformat(value.replace(" ", "T", 1))
        except ValueError:
            raise input_error(field, f"invalid time {value!r}, expected ISO 8601") from None
    else:
        raise input_error(field, f"invalid time {value!r}, expected ISO 8601")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(_UTC).replace(tzinfo=None)
    return parsed.isoformat(timespec="microseconds")


def time_to_epoch(value: str) -> float:
    return dt.datetime.fromisoformat(value).replace(tzinfo=_UTC).timestamp()


def format_epoch(seconds: float) -> str:
    return (
        dt.datetime.fromtimestamp(seconds, _UTC)
        .replace(tzinfo=None)
        .isoformat(timespec="microseconds")
    )


def activity_id_for(time_value: str) -> str:
    """A UUID v1 whose timestamp is the activity time, so ids order like times."""
    moment = dt.datetime.fromisoformat(time_value).replace(tzinfo=_UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=_UTC)
    ticks = (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
    ticks += _UUID_EPOCH_OFFSET
    # random clock sequence and node: ids of same-time activities must not collide
    rand = random.getrandbits(62)
    clock_seq, node = rand >> 48, (rand & 0xFFFFFFFFFFFF) | 0x010000000000
    fields = (
        ticks & 0xFFFFFFFF,
        (ticks >> 32) & 0xFFFF,
        ((ticks >> 48) & 0x0FFF) | 0x1000,
        ((clock_seq >> 8) & 0x3F) | 0x80,
        clock_seq & 0xFF,
        node,
    )
    return str(uuid.UUID(fields=fields))


def sort_key_for_id(activity_id: str) -> tuple[str, str]:
    """The (time, id) position of an id, for id_lt/id_gt pagination of ids not in the feed."""
    try:
        parsed = uuid.UUID(activity_id)
    except ValueError:
        raise input_error("id", f"{activity_id!r} is not a valid activity id") from None
    if parsed.version != 1:
        raise input_error("id", f"{activity_id!r} is not a time-based (v1) id")
    micros = (parsed.time - _UUID_EPOCH_OFFSET) // 10
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=micros)
    return moment.isoformat(timespec="microseconds"), str(parsed)


def parse_feed_id(value: Any, field: str) -> tuple[str, str]:
    match = _FEED_ID.match(value) if isinstance(value, str) else None
    if match is None:
        raise input_error(field, f"{value!r} is not a valid feed id, expected slug:user_id")
    return match.group(1), match.group(2)


def _as_text(value: Any, field: str, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise input_error(field, "This field is required.")
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise input_error(field, f"must be a string, got {type(value).__name__}")
    return value if isinstance(value, str) else str(value)


def normalize(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """Validate an incoming activity; return its stored data and its raw `to` entries."""
    if not isinstance(raw, dict):
        raise input_error("activity", "an activity must be a JSON object")
    data = {k: v for k, v in raw.items() if k not in _SERVER_FIELDS and k != "to"}
    for field in _REQUIRED:
        data[field] = _as_text(raw.get(field), field, required=True)
    data["target"] = _as_text(raw.get("target"), "target", required=False) or ""
    foreign_id = raw.get("foreign_id")
    if foreign_id is not None and not isinstance(foreign_id, str):
        raise input_error("foreign_id", "must be a string")
    data["foreign_id"] = foreign_id or ""
    raw_time = raw.get("time")
    data["time"] = now_time() if raw_time in (None, "") else parse_time(raw_time)
    to = raw.get("to") or []
    if not isinstance(to, list) or not all(isinstance(t, str) for t in to):
        raise input_error("to", "must be a list of feed ids")
    if len(to) > MAX_TO_TARGETS:
        raise input_error("to", f"at most {MAX_TO_TARGETS} targets are allowed, got {len(to)}")
    sent = {k: v for k, v in raw.items() if k != "to"}  # `to` carries the client's tokens
    size = len(json.dumps(sent, separators=(",", ":"), default=str).encode())
    if size > MAX_ACTIVITY_BYTES:
        # Stream documents the 10KB limit, not its answer: code and wording are unverified.
        raise ApiError(
            4,
            f"activity is too large ({size} bytes); activities are limited to 10KB "
            f"({MAX_ACTIVITY_BYTES} bytes)",
        )
    return data, to


def uniqueness_key(data: dict[str, Any]) -> tuple[str, ...]:
    """foreign_id+time identifies an activity; without foreign_id, identical data+time does."""
    if data["foreign_id"]:
        return ("f", data["foreign_id"], data["time"])
    body = {k: v for k, v in data.items() if k not in ("id", "to")}
    return ("d", data["time"], json.dumps(body, sort_keys=True, default=str))
