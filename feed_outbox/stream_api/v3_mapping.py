"""How an outbox activity looks in Stream Feeds v3, and how a v3 activity reads back as v2's.

The outbox rows stay API-neutral (v2-shaped payloads); this module is the one mapping, used
by the relay's v3 delivery, the v3 read side (feed_manager, Enrich, templates) and reconcile.
The table, with its sources, is in docs/topics/feeds-v3.md:

* ``id``: v3 upserts by an explicit id, so the id is derived from what v2 keys an activity
  by within a feed: ``uuid5(feed + foreign_id)``. A retried delivery writes the same id (an
  overwrite, never a duplicate); ``time`` is not part of v3's identity.
* ``type`` is v2's verb, ``user_id`` the id of the actor reference (``auth.User:42`` → ``42``),
  ``feeds`` the event's feed followed by its ``to`` targets (v3 has no ``to``).
* ``custom`` holds everything else as v2 had it: actor, object, target, foreign_id, the frozen
  time and the extra data, so a v3 read gives templates the same activity dict as a v2 read.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from hashlib import sha1
from typing import Any

#: Namespace of feed-outbox's v3 activity ids (uuid5 of "feed\nforeign_id").
ID_NAMESPACE = uuid.UUID("0b1e6a3e-7c1f-5d0a-9a55-f2c0d0b7e316")
_NAMESPACE_BYTES = ID_NAMESPACE.bytes
_NOT_ID = re.compile(r"[^A-Za-z0-9@_\-]")
# Fields v3 carries itself; every other v2 field goes to ``custom``.
_NATIVE = ("verb", "to")


def activity_id(feed: str, foreign_id: str) -> str:
    """The v3 id of the activity with ``foreign_id`` published to ``feed``: deterministic,
    ``str(uuid.uuid5(ID_NAMESPACE, f"{feed}\\n{foreign_id}"))``.

    Computed as uuid5 computes it (RFC 4122 4.3: the SHA-1 of namespace and name, its first
    16 bytes with the version and variant bits set), without building a UUID object: the relay
    makes one per activity it sends to v3, and ``uuid.UUID()``'s checks were two thirds of the
    ~5 us each took (issue 25)."""
    digest = bytearray(sha1(_NAMESPACE_BYTES + f"{feed}\n{foreign_id}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def user_id(actor: Any) -> str:
    """A v3 user id for a v2 actor: the id part of ``label:id`` references, made safe."""
    text = str(actor)
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    return _NOT_ID.sub("_", text) or "_"


def feed_owner(feed: str) -> str:
    """The owner a v3 feed is created with: its user id (``user:42`` is 42's)."""
    return _NOT_ID.sub("_", feed.split(":", 1)[1]) or "_"


def activity_request(feed: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The v3 activity (ActivityRequest fields) for a v2-shaped outbox payload on ``feed``."""
    targets = [str(t) for t in payload.get("to") or ()]
    return {
        "id": activity_id(feed, payload["foreign_id"]),
        "type": str(payload.get("verb") or "activity"),
        "user_id": user_id(payload.get("actor", "")),
        "feeds": list(dict.fromkeys([feed, *targets])),
        "custom": {k: v for k, v in payload.items() if k not in _NATIVE},
    }


def feeds_of(feed: str, payload: Mapping[str, Any]) -> list[str]:
    """The v3 feeds an activity event writes to (they must exist first)."""
    return activity_request(feed, payload)["feeds"] if "foreign_id" in payload else [feed]


def as_v2(activity: Any, origin: str | None = None) -> dict[str, Any]:
    """A v3 activity (an SDK ActivityResponse or its JSON) as the dict a v2 read returns."""
    get = (
        activity.get if isinstance(activity, Mapping) else lambda k, d=None: getattr(activity, k, d)
    )
    custom = dict(get("custom") or {})
    feeds = list(get("feeds") or [])
    data = {
        **custom,
        "id": get("id"),
        "verb": get("type"),
        "v3_feeds": feeds,
    }
    data.setdefault("actor", get("user_id") or _user_of(get("user")))
    data.setdefault("foreign_id", get("id"))
    if len(feeds) > 1:
        data["to"] = feeds[1:]
    data["origin"] = origin
    return data


def _user_of(user: Any) -> str | None:
    if user is None:
        return None
    return user.get("id") if isinstance(user, Mapping) else getattr(user, "id", None)
