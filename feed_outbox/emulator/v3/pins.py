"""PinActivity / UnpinActivity, and the ``pinned_activities`` a feed read answers.

Sources: the SDK's ``feeds.pin_activity`` / ``unpin_activity`` (POST / DELETE
``feed_groups/{g}/feeds/{id}/activities/{activity_id}/pin``), ``PinActivityResponse``
(activity, feed, user_id, created_at), ``UnpinActivityResponse`` (activity, feed, user_id) and
``GetOrCreateFeedResponse.pinned_activities`` (``ActivityPinResponse``: activity, feed, user,
created_at, updated_at). Unverified, chosen: only an activity that is in the feed can be pinned
there (else 404); pinning twice keeps the first pin; unpinning what is not pinned is 404;
pins are newest first; a deleted activity's pins go with it. Pins are not persisted with the
store (emulator/v3/persistence.py): a restarted emulator forgets them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import render
from .call import V3Call
from .errors import not_found
from .store import V3Store, now, stamp


class Pins:
    def __init__(self) -> None:
        self.feeds: dict[str, dict[str, tuple[str, dt.datetime]]] = {}  # fid -> id -> pin

    def reset(self) -> None:
        self.feeds.clear()

    def answered(self, store: V3Store, fid: str) -> list[dict[str, Any]]:
        pins = self.feeds.get(fid, {})
        live = [(aid, pin) for aid, pin in pins.items() if aid in store.activities]
        live.sort(key=lambda item: item[1][1], reverse=True)
        return [
            {
                "activity": render.activity(store, store.activities[aid], fid),
                "feed": fid,
                "user": render.user(store, user_id),
                "created_at": stamp(moment),
                "updated_at": stamp(moment),
            }
            for aid, (user_id, moment) in live
        ]


def _target(call: V3Call) -> tuple[str, str]:
    group, feed_id, activity_id = call.args
    fid = call.store.feed(f"{group}:{feed_id}").fid
    call.store.activity(activity_id)
    if activity_id not in call.store.entries.get(fid, {}):
        raise not_found(f"activity {activity_id} in feed {fid}")
    return fid, activity_id


def pin_activity(call: V3Call) -> dict:
    fid, activity_id = _target(call)
    user_id = str(call.body.get("user_id") or call.store.feeds[fid].created_by)
    pins = call.pins.feeds.setdefault(fid, {})
    pins.setdefault(activity_id, (user_id, now()))
    _user, moment = pins[activity_id]
    return {
        "activity": render.activity(call.store, call.store.activities[activity_id], fid),
        "feed": fid,
        "user_id": user_id,
        "created_at": stamp(moment),
    }


def unpin_activity(call: V3Call) -> dict:
    fid, activity_id = _target(call)
    pin = call.pins.feeds.get(fid, {}).pop(activity_id, None)
    if pin is None:
        raise not_found(f"pin of activity {activity_id} in feed {fid}")
    user_id = call.params.get("user_id") or pin[0]
    return {
        "activity": render.activity(call.store, call.store.activities[activity_id], fid),
        "feed": fid,
        "user_id": user_id,
    }
