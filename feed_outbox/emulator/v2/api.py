"""The emulated Stream Feeds v2 routes: path pattern, JWT resource and rate-limit class of each."""

from __future__ import annotations

from . import app_endpoints as app
from . import extra_endpoints as extra
from . import feed_endpoints as feed
from .routing import Route, Router

F = ("feed", "*", "*")

ROUTES = [
    Route("POST", ("feed", "add_to_many"), "add_to_many", app.add_to_many, "feed"),
    Route("POST", F, "add_activity", feed.add_activity, "feed", True, "add_activity"),
    Route("GET", F, "get_feed", feed.get_feed, "feed", True),
    Route("POST", (*F, "follows"), "follow", feed.follow, "follower", True),
    Route("GET", (*F, "follows"), "following", feed.following, "follower", True),
    Route("GET", (*F, "followers"), "followers", feed.followers, "follower", True),
    Route("DELETE", (*F, "follows", "*"), "unfollow", feed.unfollow, "follower", True),
    Route(
        "DELETE",
        (*F, "*"),
        "remove_activity",
        feed.remove_activity,
        "feed",
        True,
        "remove_activity",
    ),
    Route(
        "POST",
        ("feed_targets", "*", "*", "activity_to_targets"),
        "update_activity_to_targets",
        feed.update_to_targets,
        "feed_targets",
        True,
        "update_activities",
    ),
    Route("POST", ("follow_many",), "follow_many", app.follow_many, "follower"),
    Route("POST", ("unfollow_many",), "unfollow_many", app.unfollow_many, "follower"),
    Route(
        "POST",
        ("activities",),
        "update_activities",
        app.update_activities,
        "activities",
        rate_limit="update_activities",
    ),
    Route("GET", ("activities",), "get_activities", app.get_activities, "activities"),
    Route(
        "POST",
        ("activity",),
        "activity_partial_update",
        app.partial_update,
        "activities",
        rate_limit="update_activities",
    ),
    Route("GET", ("stats", "follow"), "follow_stats", app.follow_stats, "follower"),
    *extra.ROUTES,
]


def build_router() -> Router:
    return Router(ROUTES)
