"""Route table of the emulated Feeds v2 API and the per-call context handed to endpoint functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .. import jsonstrict
from ..routing import Request, parse_query
from .auth import Authenticator
from .errors import ApiError, input_error
from .store import Store

API_PREFIXES = ("api", "personalization", "analytics")


@dataclass
class Call:
    """What an endpoint function receives: parsed query, JSON body, path arguments, state."""

    request: Request
    params: dict[str, str]
    body: Any
    args: tuple[str, ...]
    store: Store
    auth: Authenticator
    payload: dict[str, Any] = field(default_factory=dict)

    def int_param(
        self, name: str, default: int, minimum: int = 0, maximum: int | None = None
    ) -> int:
        raw = self.params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise input_error(name, f"must be an integer, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise input_error(name, f"must be at least {minimum}{upper}, got {value}")
        return value

    def flag(self, name: str) -> bool:
        return self.params.get(name, "").lower() in ("true", "1", "yes")


Handler = Callable[..., Any]


@dataclass(frozen=True)
class Route:
    """`pattern` segments with `*` for arguments; `resource` is the JWT resource it needs."""

    method: str
    pattern: tuple[str, ...]
    name: str
    handler: Handler
    resource: str
    feed_scoped: bool = False
    rate_limit: str | None = None

    @property
    def writes(self) -> bool:
        return self.method != "GET"


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes

    def match(self, method: str, segments: list[str]) -> tuple[Route, tuple[str, ...]]:
        path_known = False
        for route in self._routes:
            if len(route.pattern) != len(segments):
                continue
            args = []
            for want, got in zip(route.pattern, segments, strict=False):
                if want == "*":
                    args.append(got)
                elif want != got:
                    break
            else:
                path_known = True
                if route.method == method:
                    return route, tuple(args)
        if path_known:
            raise ApiError(17, f"method {method} is not allowed on this endpoint", status=405)
        raise ApiError(16, "no such endpoint: " + "/".join(segments), status=404)


def split_path(path: str) -> tuple[str, list[str]]:
    """`/api/v1.0/feed/user/1/` -> ("api", ["feed", "user", "1"]); `//` collapses."""
    parts = [unquote(p) for p in path.split("/") if p]
    if len(parts) < 2 or parts[0] not in API_PREFIXES or not parts[1].startswith("v1"):
        raise ApiError(16, f"no such endpoint: {path}", status=404)
    return parts[0], parts[2:]


def parse_body(request: Request) -> Any:
    if not request.body:
        return {}
    try:
        return jsonstrict.loads(request.body)
    except ValueError as exc:
        # NaN/Infinity included: Stream's API is JSON (RFC 8259), see emulator/README.md
        raise ApiError(4, f"the request body is not valid JSON: {exc}") from None


def prepare(
    router: Router, request: Request, store: Store, auth: Authenticator
) -> tuple[Route, Call]:
    """Route, authenticate and parse a request; nothing is applied yet."""
    _service, segments = split_path(request.path)
    params = parse_query(request.query)
    auth.check_key(params.get("api_key"))
    route, args = router.match(request.method, segments)
    feed_id = f"{args[0]}:{args[1]}" if route.feed_scoped else None
    payload = auth.authorize(
        request.headers.get("authorization"), route.resource, request.method, feed_id
    )
    body = parse_body(request) if request.method != "GET" else {}
    return route, Call(request, params, body, args, store, auth, payload)
