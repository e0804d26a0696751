"""QueryActivities and QueryFollows: a filter, a sort, a page and a cursor over the v3 store.

Sources: the SDK's ``QueryActivitiesRequest`` (filter, sort, limit, next, prev,
include_expired_activities) and ``QueryFollowsRequest`` (filter, sort, limit, next, prev);
the filters its own feed tests send (``{"activity_type": "post", "user_id": ...}``,
``{"custom.priority": {"$gte": 3}}``, getstream/stream-py tests/test_feed_integration.py) and
Stream's "Feeds" page ("The filter syntax also supports $or and $and"). The filterable fields
and operators below are those; anything else is answered 400 naming it, not ignored (a filter
the emulator does not understand must not answer a wrong page). Unverified, chosen: the
cursor is an offset; the default order is newest first (``created_at`` descending, the
order of feed reads), ties in creation order; the follows' filter fields are ``source_feed``
and ``target_feed`` (feed ids; what apps on Stream's JS feeds SDK send,
``queryFollows({filter: {source_feed, target_feed}})``) and ``created_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from . import render
from .call import V3Call
from .errors import input_error
from .store import Activity, Follow, V3Store, now

MAX_LIMIT = 100
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b or (isinstance(a, list) and b in a),
    "$ne": lambda a, b: not (a == b or (isinstance(a, list) and b in a)),
    "$gt": lambda a, b: a is not None and a > b,
    "$gte": lambda a, b: a is not None and a >= b,
    "$lt": lambda a, b: a is not None and a < b,
    "$lte": lambda a, b: a is not None and a <= b,
    "$in": lambda a, b: any(_COMPARE["$eq"](a, v) for v in b),
    "$nin": lambda a, b: not any(_COMPARE["$eq"](a, v) for v in b),
    "$exists": lambda a, b: (a is not None) == bool(b),
    "$contains": lambda a, b: isinstance(a, list) and b in a,
}


def activity_fields(store: V3Store, activity: Activity) -> dict[str, Any]:
    """The values a filter or sort can name, for one activity (times as datetimes)."""
    fields = activity.fields
    return {
        "id": activity.id,
        "activity_type": activity.type,
        "type": activity.type,
        "user_id": activity.user_id,
        "feed": list(activity.feeds),
        "feeds": list(activity.feeds),
        "text": fields.get("text"),
        "visibility": fields.get("visibility") or "public",
        "filter_tags": list(fields.get("filter_tags") or []),
        "interest_tags": list(fields.get("interest_tags") or []),
        "created_at": activity.created_at,
        "updated_at": activity.updated_at,
        "popularity": 0,
        "custom": dict(fields.get("custom") or {}),
    }


def follow_fields(follow: Follow) -> dict[str, Any]:
    return {
        "source_feed": follow.source,
        "target_feed": follow.target,
        "created_at": follow.created_at,
        "status": "accepted",
    }


def matches(values: dict[str, Any], query: Any, where: str = "filter") -> bool:
    if not isinstance(query, dict):
        raise input_error(where, "must be an object of conditions")
    for key, condition in query.items():
        if key in ("$and", "$or"):
            if not isinstance(condition, list) or not condition:
                raise input_error(f"{where}.{key}", "must be a list of conditions")
            results = [matches(values, c, f"{where}.{key}") for c in condition]
            if not (all(results) if key == "$and" else any(results)):
                return False
            continue
        value = _lookup(values, key, where)
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        for op, operand in condition.items():
            compare = _COMPARE.get(op)
            if compare is None:
                raise input_error(f"{where}.{key}", f"operator {op} is not supported")
            if op in ("$in", "$nin") and not isinstance(operand, list):
                raise input_error(f"{where}.{key}.{op}", "must be a list")
            operand = _like(value, operand)
            try:
                if not compare(value, operand):
                    return False
            except TypeError:
                raise input_error(f"{where}.{key}", f"cannot compare with {operand!r}") from None
    return True


def _lookup(values: dict[str, Any], key: str, where: str) -> Any:
    head, _, rest = key.partition(".")
    if head not in values or (rest and head != "custom"):
        raise input_error(f"{where}.{key}", "is not a field this emulator can filter on")
    value = values[head]
    for part in rest.split(".") if rest else ():
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _like(value: Any, operand: Any) -> Any:
    """An operand compared with a time is a time too (v3 takes RFC 3339 strings here)."""
    if isinstance(value, dt.datetime):
        if isinstance(operand, list):
            return [_like(value, o) for o in operand]
        parsed = render.moment(operand)
        if parsed is not None:
            return parsed
    return operand


def _sort_key(values: dict[str, Any], field: str) -> tuple:
    value = _lookup(values, field, "sort")
    return (value is None, value if value is not None else 0)


def paginate(call: V3Call, rows: list[tuple[dict[str, Any], Any]]) -> tuple[list[Any], dict]:
    """Sort ``rows`` ((values, item) pairs) by the request's sort, and cut its page: (items,
    {"next", "prev"} cursors)."""
    body = call.body
    sort = body.get("sort") or [{"field": "created_at", "direction": -1}]
    if not isinstance(sort, list) or not all(isinstance(s, dict) for s in sort):
        raise input_error("sort", "must be a list of {field, direction}")
    # Ties (times within one microsecond) keep creation order in the first rule's direction:
    # rows come in creation order, and the sorts below are stable.
    if sort and sort[0].get("direction", 1) == -1:
        rows.reverse()
    for rule in reversed(sort):  # stable sorts, last key first
        field, direction = rule.get("field"), rule.get("direction", 1)
        if not isinstance(field, str) or direction not in (1, -1):
            raise input_error("sort", "each rule needs a field and a direction of 1 or -1")
        try:
            rows.sort(key=lambda r: _sort_key(r[0], field), reverse=direction == -1)
        except TypeError:
            raise input_error("sort", f"{field} holds values that do not compare") from None
    limit = body.get("limit") or 25
    if not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
        raise input_error("limit", f"must be between 1 and {MAX_LIMIT}")
    start = _cursor(body.get("next") or body.get("prev"))
    if body.get("prev"):
        start = max(0, start - limit)
    page = [item for _values, item in rows[start : start + limit]]
    cursors = {}
    if start + limit < len(rows):
        cursors["next"] = str(start + limit)
    if start > 0:
        cursors["prev"] = str(start)
    return page, cursors


def _cursor(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        raise input_error("next", "is not a cursor this query returned") from None


def query_activities(call: V3Call) -> dict:
    store = call.store
    query = call.body.get("filter") or {}
    moment = now()
    rows = []
    for activity in store.activities.values():
        values = activity_fields(store, activity)
        expires = render.moment(activity.fields.get("expires_at"))
        if expires is not None and expires <= moment and not call.body.get(
            "include_expired_activities"
        ):
            continue
        if matches(values, query):
            rows.append((values, activity))
    page, cursors = paginate(call, rows)
    users: dict = {}
    return {"activities": [render.activity(store, a, users=users) for a in page], **cursors}


def query_follows(call: V3Call) -> dict:
    store = call.store
    query = call.body.get("filter") or {}
    rows = [(follow_fields(f), f) for f in store.follows.values()]
    rows = [(values, f) for values, f in rows if matches(values, query)]
    page, cursors = paginate(call, rows)
    return {"follows": [render.follow(store, f) for f in page], **cursors}
