"""What a Feeds v3 handler receives: one request's parts and the service's state (a leaf module)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class V3Call:
    """Built by ``V3Service.prepare`` (emulator/v3/service.py) for one request.

    The state's fields are typed ``Any`` so that this module imports no other: each is the
    object named in its comment, and the modules defining those import ``V3Call``."""

    params: dict[str, str]  # the query string
    body: dict[str, Any]  # the JSON body, always an object
    args: tuple[str, ...]  # the path's ``*`` segments, in order
    store: Any  # store.V3Store
    marks: Any  # marks.NotificationMarks
    config: Any  # feed_config.V3Config
    pins: Any  # pins.Pins
    bookmarks: Any  # bookmarks.Bookmarks
    comments: Any  # comments.Comments
