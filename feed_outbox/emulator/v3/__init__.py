"""The emulated Stream Feeds v3 API (`/api/v2/feeds/...`, what the `getstream` SDK calls).

Served by the same server as the v2 emulation, with its own store: v3 activities are keyed by
an explicit id, live in several feeds at once, and feeds, users and follows are first-class
objects, which v2's store does not model. Faults (latency, 5xx, lost answers, rate limits,
a suspended app) are the server's and apply to both.

``service`` routes and handles the activity, feed and follow calls over ``store``;
``render`` shapes answers as the SDK's models decode them; ``marks`` (notification seen/read),
``queries`` (QueryActivities, QueryFollows), ``activity_updates`` (PUT/PATCH of one activity),
``feed_config`` (feed groups, feed views), ``pins``, ``bookmarks`` and ``comments`` hold the
rest, each naming its sources (docs/topics/feeds-v3.md lists them all). ``persistence`` keeps the
store in the ``--data`` file beside v2's.
"""

from .service import V3Service

__all__ = ["V3Service"]
