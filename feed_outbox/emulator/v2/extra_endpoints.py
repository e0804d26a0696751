"""Endpoints beyond feeds: enrichment reads, users, collections, reactions, og, analytics."""

from __future__ import annotations

from typing import Any

from ..jsonraw import RawList, loads_raw
from . import app_endpoints as app
from . import feed_endpoints as feed
from .activities import normalize, now_time, parse_feed_id
from .errors import input_error
from .routing import Call, Route


def _options(call: Call) -> dict[str, Any]:
    kinds = {k.strip() for k in call.params.get("reactionKindsFilter", "").split(",") if k.strip()}
    return {
        "own": call.flag("withOwnReactions"),
        "recent": call.flag("withRecentReactions"),
        "counts": call.flag("withReactionCounts"),
        "kinds": kinds,
        "user_id": call.params.get("user_id", ""),
    }


def enriched_feed(call: Call) -> dict[str, Any]:
    response = feed.get_feed(call)
    results = response["results"]
    rows = loads_raw(results) if isinstance(results, RawList) else results
    options, extras = _options(call), call.store.extras
    response["results"] = [extras.enrich(row, options) for row in rows]
    return response


def enriched_activities(call: Call) -> dict[str, Any]:
    response = app.get_activities(call)
    options, extras = _options(call), call.store.extras
    response["results"] = [extras.enrich(row, options) for row in response["results"]]
    return response


def add_user(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    user = call.store.extras.add_user(body.get("id"), body.get("data"), call.flag("get_or_create"))
    return dict(user)


def get_user(call: Call) -> dict[str, Any]:
    user = dict(call.store.extras.user(call.args[0]))
    if call.flag("with_follow_counts"):
        fid = f"user:{call.args[0]}"
        user["followers_count"] = call.store.follow_counts(fid, True, [])
        user["following_count"] = call.store.follow_counts(fid, False, [])
    return user


def update_user(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    return dict(call.store.extras.update_user(call.args[0], body.get("data")))


def delete_user(call: Call) -> dict[str, Any]:
    call.store.extras.user(call.args[0])
    del call.store.extras.users[call.args[0]]
    return {}


def add_entry(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    extras = call.store.extras
    return dict(
        extras.add_entry(call.args[0], body.get("id"), body.get("data"), body.get("user_id"))
    )


def get_entry(call: Call) -> dict[str, Any]:
    return dict(call.store.extras.entry(*call.args))


def update_entry(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    entry = call.store.extras.entry(*call.args)
    entry.update(data=body.get("data") or {}, updated_at=now_time())
    return dict(entry)


def delete_entry(call: Call) -> dict[str, Any]:
    call.store.extras.entry(*call.args)
    name, entry_id = call.args
    del call.store.extras.collections[(name, entry_id)]
    return {}


def add_reaction(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    targets = body.get("target_feeds") or []
    if not isinstance(targets, list):
        raise input_error("target_feeds", "must be a list of feed ids")
    for target in targets:
        slug, _user = parse_feed_id(target, "target_feeds")
        call.store.group(slug)
    extras = call.store.extras
    reaction = extras.add_reaction(body)
    for target in targets:
        data, _to = normalize(extras.target_activity(reaction, body.get("target_feeds_extra_data")))
        call.store.add(target, data, [])
    return dict(reaction)


def get_reaction(call: Call) -> dict[str, Any]:
    return dict(call.store.extras.reaction(call.args[0]))


def update_reaction(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    reaction = call.store.extras.reaction(call.args[0])
    reaction.update(data=body.get("data") or {}, updated_at=now_time())
    return dict(reaction)


def delete_reaction(call: Call) -> dict[str, Any]:
    call.store.extras.delete_reaction(call.args[0], call.flag("soft"))
    return {}


def restore_reaction(call: Call) -> dict[str, Any]:
    return dict(call.store.extras.restore_reaction(call.args[0]))


def filter_reactions(call: Call) -> dict[str, Any]:
    field, value = call.args[0], call.args[1]
    if field not in ("reaction_id", "activity_id", "user_id"):
        raise input_error("lookup", "filter by reaction_id, activity_id or user_id")
    kind = call.args[2] if len(call.args) > 2 else None
    bounds = {
        k: call.params[k] for k in ("id_lt", "id_lte", "id_gt", "id_gte") if call.params.get(k)
    }
    limit = call.int_param("limit", 10, 0, 25)
    rows = call.store.extras.filter_reactions(field, value, kind, bounds, limit)
    return {"results": [dict(r) for r in rows], "next": ""}


def open_graph(call: Call) -> dict[str, Any]:
    # the emulator never fetches the internet: a placeholder scrape, marked as such
    url = call.params.get("url", "")
    if not url:
        raise input_error("url", "This field is required.")
    return {"url": url, "title": url, "description": "(emulated: not fetched)", "images": []}


def track(call: Call) -> dict[str, Any]:
    return {}


ROUTES = [
    Route("GET", ("enrich", "feed", "*", "*"), "get_enriched_feed", enriched_feed, "feed", True),
    Route(
        "GET",
        ("enrich", "activities"),
        "get_enriched_activities",
        enriched_activities,
        "activities",
    ),
    Route("POST", ("user",), "add_user", add_user, "users"),
    Route("GET", ("user", "*"), "get_user", get_user, "users"),
    Route("PUT", ("user", "*"), "update_user", update_user, "users"),
    Route("DELETE", ("user", "*"), "delete_user", delete_user, "users"),
    Route("POST", ("collections", "*"), "add_collection_entry", add_entry, "collections"),
    Route("GET", ("collections", "*", "*"), "get_collection_entry", get_entry, "collections"),
    Route("PUT", ("collections", "*", "*"), "update_collection_entry", update_entry, "collections"),
    Route(
        "DELETE", ("collections", "*", "*"), "delete_collection_entry", delete_entry, "collections"
    ),
    Route("POST", ("reaction",), "add_reaction", add_reaction, "reactions"),
    Route("GET", ("reaction", "*"), "get_reaction", get_reaction, "reactions"),
    Route("PUT", ("reaction", "*"), "update_reaction", update_reaction, "reactions"),
    Route("DELETE", ("reaction", "*"), "delete_reaction", delete_reaction, "reactions"),
    Route("PUT", ("reaction", "*", "restore"), "restore_reaction", restore_reaction, "reactions"),
    Route("GET", ("reaction", "*", "*"), "filter_reactions", filter_reactions, "reactions"),
    Route("GET", ("reaction", "*", "*", "*"), "filter_reactions", filter_reactions, "reactions"),
    Route("GET", ("og",), "og", open_graph, "*"),
    Route("POST", ("engagement",), "track_engagements", track, "*"),
    Route("POST", ("impression",), "track_impressions", track, "*"),
]
