"""`/_emulator/`: read-only inspection pages and the loopback-only control endpoints.

The pages show every feed's activities: they answer loopback clients, and other clients only
with the app's API key (``?api_key=KEY``), so an emulator reachable from a network (a
container's published port, ``--host 0.0.0.0``) does not show its data to anyone who finds it.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .protocol import Response
from .routing import Request, parse_query

if TYPE_CHECKING:
    from .server import Emulator

_CONTROL = {"/_emulator/control", "/_emulator/stats", "/_emulator/log", "/_emulator/reset"}
_PAGES = {"/_emulator", "/_emulator/feeds.json"}


def _is_loopback(peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer.split("%")[0]).is_loopback
    except ValueError:
        return False


def _error(status: int, detail: str) -> Response:
    return Response(status, {"detail": detail, "status_code": status})


class Inspector:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path in _CONTROL and not _is_loopback(request.peer):
            return _error(403, "the control endpoints only answer loopback clients")
        key = parse_query(request.query).get("api_key", "")
        if path in _PAGES and not (_is_loopback(request.peer) or self._is_api_key(key)):
            return _error(
                401, "the inspection pages answer loopback clients, or others with ?api_key=KEY"
            )
        method = request.method
        if path == "/_emulator" and method == "GET":
            page = self.page(key)
            return Response(200, page, content_type="text/html; charset=utf-8")
        if path == "/_emulator/feeds.json" and method == "GET":
            return Response(200, self.feeds())
        if path == "/_emulator/control":
            if method == "GET":
                return Response(200, {"faults": self.emulator.faults.config.as_dict()})
            if method == "POST":
                return self._set_faults(request)
        if path == "/_emulator/stats" and method == "GET":
            return Response(200, self.emulator.stats_on_loop())
        if path == "/_emulator/log" and method == "GET":
            query = parse_query(request.query)
            since = query.get("since", "0")
            after = int(since) if since.isdigit() else 0
            # ?api=v3: the Feeds v3 store's log, in the same shape (emulator/v3/store.py)
            store = self.emulator.v3.store if query.get("api") == "v3" else self.emulator.store
            rows = [r for r in store.request_log() if r["seq"] > after]
            return Response(200, {"log": rows})
        if path == "/_emulator/reset" and method == "POST":
            self.emulator.reset_on_loop()
            return Response(200, {"reset": True})
        return _error(404, f"no such emulator page: {method} {request.path}")

    def _is_api_key(self, key: str) -> bool:
        return bool(key) and hmac.compare_digest(key.encode(), self.emulator.api_key.encode())

    def _set_faults(self, request: Request) -> Response:
        try:
            changes = json.loads(request.body or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of fault settings")
            self.emulator.faults.config.update(**changes)
        except ValueError as exc:
            return _error(400, str(exc))
        return Response(200, {"faults": self.emulator.faults.config.as_dict()})

    def feeds(self) -> dict[str, Any]:
        store = self.emulator.store
        feeds = {}
        for fid in sorted(store.feeds):
            feed = store.feeds[fid]
            activities = [
                {**store.activities[aid], "origin": feed.entries[aid][0]}
                for _t, aid in feed.newest_first()
            ]
            feeds[fid] = {
                "type": feed.group.kind,
                "activities": activities,
                "following": list(store.following.get(fid, {})),
                "followers": list(store.followers.get(fid, {})),
            }
        return {"feeds": feeds}

    def page(self, api_key: str = "") -> str:
        rows = []
        for fid, feed in self.feeds()["feeds"].items():
            items = "".join(
                f"<li><code>{html.escape(a['id'])}</code> {html.escape(a['time'])} "
                f"<b>{html.escape(str(a['actor']))}</b> {html.escape(str(a['verb']))} "
                f"{html.escape(str(a['object']))}"
                f"{' fid=' + html.escape(a['foreign_id']) if a.get('foreign_id') else ''}"
                f"{' origin=' + html.escape(a['origin']) if a.get('origin') else ''}</li>"
                for a in feed["activities"]
            )
            follows = ", ".join(html.escape(f) for f in feed["following"]) or "nothing"
            rows.append(
                f"<h2>{html.escape(fid)} <small>({feed['type']}, "
                f"{len(feed['activities'])} activities, follows {follows})</small></h2>"
                f"<ul>{items}</ul>"
            )
        body = "".join(rows) or "<p>No feeds yet.</p>"
        # the link keeps the key a non-loopback client needed to see this page
        query = html.escape(f"?api_key={quote(api_key)}") if api_key else ""
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>Stream emulator</title>"
            "</head><body><h1>Stream emulator</h1>"
            f"<p><a href='/_emulator/feeds.json{query}'>feeds.json</a></p>"
            + body
            + "</body></html>"
        )
