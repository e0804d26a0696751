"""Routes and handlers of the emulated Feeds v3 API, and the service the server dispatches to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import jsonstrict
from ..feed_groups import AGGREGATED, NOTIFICATION, FeedGroup
from ..routing import Request, parse_query
from . import activity_updates, bookmarks, comments, feed_config, pins, queries, render
from .activity_updates import check_times
from .auth import V3Auth
from .call import V3Call
from .errors import INPUT, V3Error, input_error, not_found
from .marks import NotificationMarks
from .store import MAX_BATCH, V3Store, stamp

PREFIX = ("api", "v2")
# Rate limits are per endpoint (Stream's operation id, ``V3Route.name``) and minute:
# emulator/faults.py holds them with the v2 classes ("v3:<name>"). Routes made with
# limited=False are not limited here: no source found gives their limits.


@dataclass(frozen=True)
class V3Route:
    method: str
    pattern: tuple[str, ...]
    name: str  # Stream's operation id: the rate-limit bucket
    handler: Callable[[V3Call], dict[str, Any]]
    limited: bool = True

    @property
    def writes(self) -> bool:
        return self.method != "GET"


def _list(call: V3Call, name: str) -> list:
    value = call.body.get(name)
    if not isinstance(value, list):
        raise input_error(name, "must be a list")
    if len(value) > MAX_BATCH:
        raise input_error(name, f"at most {MAX_BATCH} items per request")
    return value


def add_activity(call: V3Call) -> dict:
    check_times(call.body)
    stored = call.store.upsert(call.body, generate_id=True)
    return {"activity": render.activity(call.store, stored)}


def upsert_activities(call: V3Call) -> dict:
    requests = _list(call, "activities")
    if not all(isinstance(r, dict) for r in requests):
        raise input_error("activities", "must be a list of activities")
    for request in requests:
        check_times(request)
    # Validate the whole batch before applying any of it: one bad activity fails the request.
    # A missing feed is created by the upsert (V3Store.upsert); a missing group fails it.
    for request in requests:
        for fid in request.get("feeds") or []:
            group, _, feed_id = str(fid).partition(":")
            call.store.group(group)
            if not feed_id:
                raise input_error("feeds", f"{fid!r} is not a feed id (group:id)")
    # Without an id an upsert creates a new activity (the SDK's own feed tests do this).
    stored = [call.store.upsert(r, generate_id=True) for r in requests]
    users: dict = {}
    return {"activities": [render.activity(call.store, a, users=users) for a in stored]}


def delete_activities(call: V3Call) -> dict:
    return {"deleted_ids": call.store.delete(_list(call, "ids"))}


def get_activity(call: V3Call) -> dict:
    return {"activity": render.activity(call.store, call.store.activity(call.args[0]))}


def delete_activity(call: V3Call) -> dict:
    call.store.delete([call.args[0]])
    return {}


def get_or_create_feed(call: V3Call) -> dict:
    group, feed_id = call.args
    data = call.body.get("data") or {}
    owner = call.body.get("user_id") or data.get("created_by_id") or feed_id
    store = call.store
    stored = store.get_or_create_feed(group, feed_id, owner)
    limit = call.body.get("limit", 25)
    if not isinstance(limit, int) or not 0 <= limit <= 100:
        raise input_error("limit", "must be between 0 and 100")
    offset = _offset(call.body.get("next"))
    kind = store.group(group).kind
    body: dict[str, Any] = {
        "created": False,
        "feed": render.feed(store, stored),
        "activities": [],
        "aggregated_activities": [],
        "followers": [
            render.follow(store, f) for (_s, t), f in store.follows.items() if t == stored.fid
        ][:100],
        "following": [
            render.follow(store, f) for (s, _t), f in store.follows.items() if s == stored.fid
        ][:100],
        "members": [],
        "pinned_activities": call.pins.answered(store, stored.fid),
    }
    if kind in (AGGREGATED, NOTIFICATION):
        groups = store.aggregated(stored.fid)
        page = groups[offset : offset + limit]
        marks = call.marks if kind == NOTIFICATION else None
        body["aggregated_activities"] = [
            _group(store, stored.fid, k, a, marks) for k, a in page
        ]
        total = len(groups)
        if marks is not None:
            body["notification_status"] = marks.status(stored.fid, groups)
    else:
        activities = store.feed_activities(stored.fid)
        page = activities[offset : offset + limit]
        users: dict = {}
        body["activities"] = [render.activity(store, a, stored.fid, users) for a in page]
        total = len(activities)
    if offset + limit < total:
        body["next"] = str(offset + limit)
    return body


def _offset(cursor: Any) -> int:
    if cursor in (None, ""):
        return 0
    try:
        return max(0, int(cursor))
    except (TypeError, ValueError):
        raise input_error("next", "is not a cursor this feed returned") from None


def _group(
    store: V3Store, fid: str, key: str, activities: list, marks: NotificationMarks | None
) -> dict:
    body = {
        "group": key,
        "activity_count": len(activities),
        "user_count": len({a.user_id for a in activities}),
        "user_count_truncated": False,
        "score": 0.0,
        "created_at": stamp(min(a.created_at for a in activities)),
        "updated_at": stamp(max(a.updated_at for a in activities)),
        "activities": [render.activity(store, a, fid) for a in activities],
    }
    if marks is not None:
        # "Only set for feed groups with notification config" (AggregatedActivityResponse)
        flags = marks.of(fid, key, activities)
        body["is_seen"], body["is_read"] = flags.is_seen, flags.is_read
    return body


def mark_activity(call: V3Call) -> dict:
    """MarkActivity: seen/read marks of a notification feed (emulator/v3/marks.py)."""
    group, feed_id = call.args
    stored = call.store.feed(f"{group}:{feed_id}")
    call.marks.mark(stored.fid, call.body)
    return {}


def create_feeds_batch(call: V3Call) -> dict:
    requests = _list(call, "feeds")
    for request in requests:  # every group must exist before any feed is created
        call.store.group(str(request.get("feed_group_id") or ""))
    feeds = [
        call.store.get_or_create_feed(
            str(r.get("feed_group_id") or ""), str(r.get("feed_id") or ""), r.get("created_by_id")
        )
        for r in requests
    ]
    return {"feeds": [render.feed(call.store, f) for f in feeds]}


def _follows(call: V3Call, upsert: bool) -> dict:
    requests = _list(call, "follows")
    for request in requests:
        call.store.feed(str(request.get("source")))
        call.store.feed(str(request.get("target")))
    created, follows = [], []
    for request in requests:
        follow, new = call.store.follow(request, upsert=upsert)
        follows.append(render.follow(call.store, follow))
        if new:
            created.append(follows[-1])
    return {"follows": follows, "created": created}


def follow_batch(call: V3Call) -> dict:
    return _follows(call, upsert=False)


def get_or_create_follows(call: V3Call) -> dict:
    return _follows(call, upsert=True)


def follow_one(call: V3Call) -> dict:
    follow, _new = call.store.follow(call.body, upsert=False)
    return {"follow": render.follow(call.store, follow)}


def get_or_create_follow(call: V3Call) -> dict:
    follow, new = call.store.follow(call.body, upsert=True)
    return {"follow": render.follow(call.store, follow), "created": new}


def _unfollows(call: V3Call, upsert: bool) -> dict:
    requests = _list(call, "follows")
    if not upsert:
        for request in requests:
            if (request.get("source"), request.get("target")) not in call.store.follows:
                raise not_found(f"follow {request.get('source')} -> {request.get('target')}")
    gone = []
    for request in requests:
        follow = call.store.unfollow(
            {**request, "keep_history": request.get("keep_history")}, upsert=True
        )
        if follow is not None:
            gone.append({"source": follow.source, "target": follow.target})
    return {"follows": [_plain_follow(call.store, f) for f in gone]}


def _plain_follow(store: V3Store, pair: dict) -> dict:
    source, target = store.feeds[pair["source"]], store.feeds[pair["target"]]
    return {
        "source_feed": render.feed(store, source),
        "target_feed": render.feed(store, target),
        "created_at": stamp(source.created_at),
        "updated_at": stamp(source.created_at),
        "status": "accepted",
        "follower_role": "feed_follower",
        "push_preference": "none",
    }


def unfollow_batch(call: V3Call) -> dict:
    return _unfollows(call, upsert=False)


def get_or_create_unfollows(call: V3Call) -> dict:
    return _unfollows(call, upsert=True)


def unfollow_one(call: V3Call) -> dict:
    source, target = call.args
    keep = call.params.get("keep_history", "").lower() in ("true", "1")
    gone = call.store.unfollow(
        {"source": source, "target": target, "keep_history": keep}, upsert=False
    )
    # UnfollowResponse.follow is the FollowResponse that was removed (every field required)
    return {"follow": render.follow(call.store, gone) if gone is not None else {}}


def update_users(call: V3Call) -> dict:
    users = call.body.get("users")
    if not isinstance(users, dict):
        raise input_error("users", "must be an object of users by id")
    stored = {uid: call.store.upsert_user({**u, "id": uid}) for uid, u in users.items()}
    return {
        "users": {uid: render.full_user(call.store, uid) for uid in stored},
        "membership_deletion_task_id": "",
    }


F = ("feeds",)
ROUTES = [
    V3Route("POST", (*F, "activities"), "AddActivity", add_activity),
    V3Route("POST", (*F, "activities", "batch"), "UpsertActivities", upsert_activities),
    V3Route("POST", (*F, "activities", "delete"), "DeleteActivities", delete_activities),
    V3Route("GET", (*F, "activities", "*"), "GetActivity", get_activity, False),
    V3Route("DELETE", (*F, "activities", "*"), "DeleteActivity", delete_activity),
    V3Route("PUT", (*F, "activities", "*"), "UpdateActivity", activity_updates.update_activity,
            False),
    V3Route("PATCH", (*F, "activities", "*"), "UpdateActivityPartial",
            activity_updates.update_activity_partial, False),
    V3Route("POST", (*F, "activities", "query"), "QueryActivities", queries.query_activities,
            False),
    V3Route("POST", (*F, "activities", "*", "bookmarks"), "AddBookmark", bookmarks.add_bookmark,
            False),
    V3Route("PATCH", (*F, "activities", "*", "bookmarks"), "UpdateBookmark",
            bookmarks.update_bookmark, False),
    V3Route("DELETE", (*F, "activities", "*", "bookmarks"), "DeleteBookmark",
            bookmarks.delete_bookmark, False),
    V3Route("POST", (*F, "bookmarks", "query"), "QueryBookmarks", bookmarks.query_bookmarks,
            False),
    V3Route("POST", (*F, "comments"), "AddComment", comments.add_comment, False),
    V3Route("POST", (*F, "comments", "query"), "QueryComments", comments.query_comments, False),
    V3Route("GET", (*F, "comments", "*"), "GetComment", comments.get_comment, False),
    V3Route("PATCH", (*F, "comments", "*"), "UpdateComment", comments.update_comment, False),
    V3Route("DELETE", (*F, "comments", "*"), "DeleteComment", comments.delete_comment, False),
    V3Route("GET", (*F, "feed_groups"), "ListFeedGroups", feed_config.list_feed_groups, False),
    V3Route("POST", (*F, "feed_groups"), "CreateFeedGroup", feed_config.create_feed_group, False),
    V3Route("GET", (*F, "feed_groups", "*"), "GetFeedGroup", feed_config.get_feed_group, False),
    V3Route("POST", (*F, "feed_groups", "*"), "GetOrCreateFeedGroup",
            feed_config.get_or_create_feed_group, False),
    V3Route("PUT", (*F, "feed_groups", "*"), "UpdateFeedGroup", feed_config.update_feed_group,
            False),
    V3Route("DELETE", (*F, "feed_groups", "*"), "DeleteFeedGroup", feed_config.delete_feed_group,
            False),
    V3Route("GET", (*F, "feed_views"), "ListFeedViews", feed_config.list_feed_views, False),
    V3Route("POST", (*F, "feed_views"), "CreateFeedView", feed_config.create_feed_view, False),
    V3Route("GET", (*F, "feed_views", "*"), "GetFeedView", feed_config.get_feed_view, False),
    V3Route("POST", (*F, "feed_views", "*"), "GetOrCreateFeedView",
            feed_config.get_or_create_feed_view, False),
    V3Route("PUT", (*F, "feed_views", "*"), "UpdateFeedView", feed_config.update_feed_view, False),
    V3Route("DELETE", (*F, "feed_views", "*"), "DeleteFeedView", feed_config.delete_feed_view,
            False),
    V3Route("POST", (*F, "feed_groups", "*", "feeds", "*"), "GetOrCreateFeed", get_or_create_feed),
    V3Route("POST", (*F, "feed_groups", "*", "feeds", "*", "activities", "mark", "batch"),
            "MarkActivity", mark_activity),
    V3Route("POST", (*F, "feed_groups", "*", "feeds", "*", "activities", "*", "pin"),
            "PinActivity", pins.pin_activity, False),
    V3Route("DELETE", (*F, "feed_groups", "*", "feeds", "*", "activities", "*", "pin"),
            "UnpinActivity", pins.unpin_activity, False),
    V3Route("POST", (*F, "feeds", "batch"), "CreateFeedsBatch", create_feeds_batch),
    V3Route("POST", (*F, "follows"), "Follow", follow_one),
    V3Route("POST", (*F, "follows", "upsert"), "Follow", get_or_create_follow),
    V3Route("POST", (*F, "follows", "batch"), "FollowBatch", follow_batch),
    V3Route("POST", (*F, "follows", "batch", "upsert"), "FollowBatch", get_or_create_follows),
    V3Route("POST", (*F, "follows", "query"), "QueryFollows", queries.query_follows, False),
    V3Route("DELETE", (*F, "follows", "*", "*"), "Unfollow", unfollow_one, False),
    V3Route("POST", (*F, "unfollow", "batch"), "UnfollowBatch", unfollow_batch),
    V3Route("POST", (*F, "unfollow", "batch", "upsert"), "UnfollowBatch",
            get_or_create_unfollows),
    V3Route("POST", ("users",), "UpdateUsers", update_users, False),
]


class V3Service:
    """Authenticates, routes and applies one v3 request; the server adds faults and timing."""

    def __init__(self, api_key: str, api_secret: str, groups: dict[str, FeedGroup]) -> None:
        self.auth = V3Auth(api_key, api_secret)
        self.store = V3Store(dict(groups))
        self.marks = NotificationMarks()
        self.config = feed_config.V3Config(groups)
        self.pins = pins.Pins()
        self.bookmarks = bookmarks.Bookmarks()
        self.comments = comments.Comments()

    def reset(self) -> None:
        self.store.reset()
        self.marks.reset()
        self.config.reset(self.store.groups)
        self.pins.reset()
        self.bookmarks.reset()
        self.comments.reset()

    @staticmethod
    def handles(path: str) -> bool:
        # Only the v3 products' paths: any other /api/v2/... stays v2's (a 404 in v2's shape).
        return path.startswith(("/api/v2/feeds/", "/api/v2/users"))

    def prepare(self, request: Request) -> tuple[V3Route, V3Call]:
        from urllib.parse import unquote

        segments = [unquote(p) for p in request.path.split("/") if p][len(PREFIX) :]
        params = parse_query(request.query)
        headers = request.headers
        payload = self.auth.check(
            params.get("api_key"), headers.get("authorization"), headers.get("stream-auth-type")
        )
        route, args = self._match(request.method, segments)
        self.auth.require_server(payload)
        body: Any = {}
        if request.body:
            try:
                body = jsonstrict.loads(request.body)
            except ValueError as exc:
                raise V3Error(INPUT, f"the request body is not valid JSON: {exc}") from None
            if not isinstance(body, dict):
                raise V3Error(INPUT, "the request body must be a JSON object")
        return route, V3Call(
            params=params,
            body=body,
            args=args,
            store=self.store,
            marks=self.marks,
            config=self.config,
            pins=self.pins,
            bookmarks=self.bookmarks,
            comments=self.comments,
        )

    def _match(self, method: str, segments: list[str]) -> tuple[V3Route, tuple[str, ...]]:
        known = False
        for route in ROUTES:
            if len(route.pattern) != len(segments):
                continue
            args = []
            for want, got in zip(route.pattern, segments, strict=True):
                if want == "*":
                    args.append(got)
                elif want != got:
                    break
            else:
                known = True
                if route.method == method:
                    return route, tuple(args)
        if known:
            raise V3Error(INPUT, f"method {method} is not allowed here", status=405)
        raise V3Error(16, "no such endpoint: /api/v2/" + "/".join(segments), status=404)
