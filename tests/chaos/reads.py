"""Reading what Stream holds the way a reader does: through stream-python, page by page, or on
Feeds v3 through the getstream SDK and feed-outbox's v3 read adapter (``V3Reader``).

Nothing here looks at the emulator's internals (``feeds.json``): if the client cannot see an
activity, a follow relation or a group, neither can a user of the app.
"""

from __future__ import annotations

from typing import Any

PAGE = 100  # Stream's page size cap for feed reads
FOLLOW_PAGE = 100


class V3Reader:
    """A getstream client whose ``feed(slug, id)`` reads like stream-python's: the ``V3Feed``
    feed_manager returns when reads are on v3 (feed_outbox/stream_api/v3_reads.py)."""

    def __init__(self, sdk: Any) -> None:
        self.sdk = sdk

    def feed(self, slug: str, user_id: str) -> Any:
        from feed_outbox.stream_api.v3_reads import V3Feed

        return V3Feed(self.sdk, slug, user_id)


def _handle(client: Any, feed: str) -> Any:
    slug, user_id = feed.split(":", 1)
    return client.feed(slug, user_id)


def read_flat(client: Any, feed: str) -> list[dict]:
    """Every activity of a flat feed, newest first, paginated with ``id_lt``."""
    handle = _handle(client, feed)
    activities: list[dict] = []
    params: dict[str, Any] = {"limit": PAGE}
    while True:
        page = handle.get(**params)["results"]
        activities.extend(page)
        if len(page) < PAGE:
            return activities
        params["id_lt"] = page[-1]["id"]


def read_groups(client: Any, feed: str) -> list[dict]:
    """Every group of an aggregated or notification feed; group ids paginate like activity ids.

    A page that repeats a group already read means the pagination went round (a group id the
    server no longer knows): raise rather than loop or silently undercount.
    """
    handle = _handle(client, feed)
    groups: list[dict] = []
    seen: set[str] = set()
    params: dict[str, Any] = {"limit": PAGE}
    while True:
        page = handle.get(**params)["results"]
        for group in page:
            if group["id"] in seen:
                raise RuntimeError(f"{feed}: group {group['id']} came back on a later page")
            seen.add(group["id"])
        groups.extend(page)
        if len(page) < PAGE:
            return groups
        params["id_lt"] = page[-1]["id"]


def read_following(client: Any, feed: str) -> list[str]:
    """The feeds ``feed`` follows, through the client's ``following()`` (offset/limit pages)."""
    handle = _handle(client, feed)
    targets: list[str] = []
    offset = 0
    while True:
        page = handle.following(offset=offset, limit=FOLLOW_PAGE)["results"]
        targets.extend(row["target_id"] for row in page)
        if len(page) < FOLLOW_PAGE:
            return targets
        offset += FOLLOW_PAGE
