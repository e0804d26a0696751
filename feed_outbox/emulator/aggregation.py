"""Aggregated and notification feeds: grouping activities by the group's aggregation format."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_STRFTIME = re.compile(r"""^time\.strftime\(\s*(['"])(.*)\1\s*\)$""")
_GROUP_NS = uuid.UUID("6f1d5a52-3c1e-4a8e-9f65-3a9c2f1d0b7e")

Part = Callable[[dict[str, Any]], str]


@lru_cache(maxsize=64)
def _compile(fmt: str) -> tuple[Part, ...]:
    """Turn a Jinja-like aggregation format into a list of renderers (the subset Stream documents)."""
    parts: list[Part] = []
    pos = 0
    for match in _EXPR.finditer(fmt):
        literal = fmt[pos : match.start()]
        parts.append(_text(literal))
        expr = match.group(1)
        strftime = _STRFTIME.match(expr)
        if strftime:
            pattern = strftime.group(2)
            parts.append(_strftime(pattern))
        else:
            parts.append(_field(expr))
        pos = match.end()
    tail = fmt[pos:]
    parts.append(_text(tail))
    return tuple(parts)


def _value(data: dict[str, Any], name: str) -> str:
    """``name`` in ``data``, a dotted name a path into nested objects (v3's ``custom.topic``);
    a name the activity lacks renders empty, as Jinja's undefined does (unverified for Stream)."""
    if name in data:
        return str(data[name])
    node: Any = data
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    return str(node)


def _text(text: str) -> Part:
    return lambda _d: text


def _strftime(pattern: str) -> Part:
    return lambda d: dt.datetime.fromisoformat(d["time"]).strftime(pattern)


def _field(name: str) -> Part:
    return lambda d: _value(d, name)


def group_key(fmt: str, data: dict[str, Any]) -> str:
    return "".join(part(data) for part in _compile(fmt))


def group_id(feed_id: str, key: str) -> str:
    # stable per feed and group, so mark_seen/mark_read ids survive between reads
    return str(uuid.uuid5(_GROUP_NS, f"{feed_id}|{key}"))


def build_groups(
    feed_id: str,
    fmt: str,
    entries: Iterable[tuple[dict[str, Any], str | None, float]],
    format_time: Callable[[float], str],
) -> list[dict[str, Any]]:
    """Groups (newest updated first) from feed entries given newest first as (data, origin, added_at)."""
    groups: dict[str, dict[str, Any]] = {}
    for data, origin, added_at in entries:
        key = group_key(fmt, data)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "key": key,
                "activities": [],
                "actors": set(),
                "first": added_at,
                "last": added_at,
                "newest": data["time"],
            }
        group["activities"].append({**data, "origin": origin})
        group["actors"].add(data["actor"])
        group["first"] = min(group["first"], added_at)
        group["last"] = max(group["last"], added_at)
    ordered = sorted(groups.values(), key=lambda g: (g["last"], g["newest"]), reverse=True)
    return [
        {
            "id": group_id(feed_id, g["key"]),
            "group": g["key"],
            "verb": g["activities"][0]["verb"],
            "activity_count": len(g["activities"]),
            "actor_count": len(g["actors"]),
            "created_at": format_time(g["first"]),
            "updated_at": format_time(g["last"]),
            "activities": g["activities"],
        }
        for g in ordered
    ]
