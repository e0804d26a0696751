"""`/_emulator/`: read-only inspection pages and the loopback-only control endpoints.

The pages show every feed's activities: they answer loopback clients, and other clients only
with the app's API key (``?api_key=KEY``), so an emulator reachable from a network (a
container's published port, ``--host 0.0.0.0``) does not show its data to anyone who finds it.
A loopback peer may still be a browser running someone else's page, so every `/_emulator`
request must also be one that page could not forge (``_forged``): a Host naming this machine
(DNS rebinding sends the attacker's name), no cross-origin Origin, and on the state-changing
POSTs an ``X-Emulator-Control: 1`` header, which a cross-origin page cannot send without a CORS
preflight that the emulator never grants.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from . import jsonstrict
from .faults import FaultInjector
from .protocol import Response
from .routing import Request, parse_query
from .v2.store import Store
from .v3.store import V3Store

_CONTROL = {"/_emulator/control", "/_emulator/stats", "/_emulator/log", "/_emulator/reset"}
_PAGES = {"/_emulator", "/_emulator/feeds.json"}
_STATE_CHANGING = {("POST", "/_emulator/control"), ("POST", "/_emulator/reset")}
CONTROL_HEADER = "X-Emulator-Control"  # required, with the value "1", on _STATE_CHANGING
_LOG_APIS = {"v2", "v3"}


def _host_name(host: str) -> str:
    """The name part of a Host header: `localhost:8700` -> localhost, `[::1]:8700` -> ::1."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _allowed_host(host: str, local: str) -> bool:
    """localhost, a loopback address, or the address this connection arrived on (a client on
    the network that typed it): never a name someone else's DNS could point here."""
    name = _host_name(host).lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or (bool(local) and name == local.split("%")[0].lower())


def _forged(request: Request, path: str) -> str | None:
    """Why a browser page could have sent this request, or None when it could not."""
    headers = request.headers
    host = headers.get("host")
    # An absent Host is an HTTP/1.0 tool's request; every browser sends one.
    if host is not None and not _allowed_host(host, request.local):
        return f"Host {host[:100]!r} is not localhost, a loopback address or this server's"
    origin = headers.get("origin")
    if origin is not None and (host is None or origin != f"http://{host}"):
        return f"a cross-origin request (Origin {origin[:100]!r})"
    if headers.get("sec-fetch-site") == "cross-site":
        return "a cross-site request (Sec-Fetch-Site: cross-site)"
    if (request.method, path) in _STATE_CHANGING and headers.get(CONTROL_HEADER.lower()) != "1":
        return f"{request.method} {path} needs the header {CONTROL_HEADER}: 1"
    return None


def _is_loopback(peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer.split("%")[0]).is_loopback
    except ValueError:
        return False


def _error(status: int, detail: str) -> Response:
    return Response(status, {"detail": detail, "status_code": status})


class Inspector:
    """Answers `/_emulator` requests over the emulator's state; ``stats`` and ``reset`` are the
    server's, called on its loop."""

    def __init__(
        self,
        *,
        api_key: str,
        store: Store,
        v3_store: V3Store,
        faults: FaultInjector,
        stats: Callable[[], dict[str, Any]],
        reset: Callable[[], None],
    ) -> None:
        self.api_key = api_key
        self.store = store
        self.v3_store = v3_store
        self.faults = faults
        self.stats = stats
        self.reset = reset

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path in _CONTROL and not _is_loopback(request.peer):
            return _error(403, "the control endpoints only answer loopback clients")
        query = parse_query(request.query)
        key = query.get("api_key", "")
        if path in _PAGES and not (_is_loopback(request.peer) or self._is_api_key(key)):
            return _error(
                401, "the inspection pages answer loopback clients, or others with ?api_key=KEY"
            )
        forged = _forged(request, path)
        if forged is not None:
            return _error(403, f"refused, as a browser page could have sent it: {forged}")
        method = request.method
        if path == "/_emulator" and method == "GET":
            page = self.page(key)
            return Response(200, page, content_type="text/html; charset=utf-8")
        if path == "/_emulator/feeds.json" and method == "GET":
            return Response(200, self.feeds())
        if path == "/_emulator/control":
            if method == "GET":
                return Response(200, {"faults": self.faults.config.as_dict()})
            if method == "POST":
                return self._set_faults(request)
        if path == "/_emulator/stats" and method == "GET":
            return Response(200, self.stats())
        if path == "/_emulator/log" and method == "GET":
            since, api = query.get("since", "0") or "0", query.get("api", "v2") or "v2"
            # isascii: "²".isdigit() is true, and int("²") raises
            if not (since.isascii() and since.isdigit() and len(since) <= 18):
                return _error(400, f"since must be a write's seq (0 or more), got {since[:40]!r}")
            if api not in _LOG_APIS:
                return _error(400, f"api must be v2 or v3, got {api[:40]!r}")
            after = int(since)
            # ?api=v3: the Feeds v3 store's log, in the same shape (emulator/v3/store.py)
            store = self.v3_store if api == "v3" else self.store
            rows = [r for r in store.request_log() if r["seq"] > after]
            return Response(200, {"log": rows})
        if path == "/_emulator/reset" and method == "POST":
            self.reset()
            return Response(200, {"reset": True})
        return _error(404, f"no such emulator page: {method} {request.path}")

    def _is_api_key(self, key: str) -> bool:
        return bool(key) and hmac.compare_digest(key.encode(), self.api_key.encode())

    def _set_faults(self, request: Request) -> Response:
        try:
            changes = jsonstrict.loads(request.body or b"{}")
        except ValueError as exc:
            return _error(400, f"the body is not valid JSON: {exc}")
        try:
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of fault settings")
            self.faults.config.update(**changes)
        except ValueError as exc:
            return _error(400, str(exc))
        return Response(200, {"faults": self.faults.config.as_dict()})

    def feeds(self) -> dict[str, Any]:
        store = self.store
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
