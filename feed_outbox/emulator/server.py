"""The emulator server: request dispatch with fault injection, and the `Emulator` lifecycle API."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from .faults import FaultInjector
from .feed_groups import GroupSpec, build_feed_groups, build_v3_feed_groups
from .inspector import Inspector
from .persistence import Database
from .protocol import HttpProtocol, Response
from .routing import Request
from .v2.api import build_router
from .v2.auth import Authenticator
from .v2.errors import RATE_LIMITED, SITE_SUSPENDED, ApiError
from .v2.persistence import Persistence
from .v2.routing import prepare
from .v2.store import Changes, Store
from .v3 import V3Service
from .v3.errors import V3Error
from .v3.persistence import V3Persistence
from .v3.store import V3Changes

T = TypeVar("T")


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: Counter[str] = Counter()
        self.responses: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.started = time.time()

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_requests": sum(self.requests.values()),
            "requests": dict(self.requests),
            "responses": dict(self.responses),
            "faults": dict(self.faults),
            "rate_limited": self.faults.get("rate_limited", 0),
            "uptime_s": round(time.time() - self.started, 3),
        }


class Emulator:
    """Stream Feeds v2 and v3 on one port, on its own event loop (a daemon thread, or the main one)."""

    def __init__(
        self,
        api_key: str = "key",
        api_secret: str = "secret",
        host: str = "127.0.0.1",
        port: int = 0,
        feed_groups: Mapping[str, GroupSpec] | None = None,
        v3_feed_groups: Mapping[str, GroupSpec] | None = None,
        data_path: str | None = None,
        faults: dict[str, Any] | None = None,
        seed: int | None = None,
        log_limit: int = 200_000,
    ) -> None:
        self.host = host
        self.port = port
        self.auth = Authenticator(api_key, api_secret)
        groups = build_feed_groups(feed_groups)
        self.store = Store(groups, log_limit=log_limit)
        # Feeds v3 (`/api/v2/...`, the getstream SDK) on the same port, with its own store and
        # groups: v2's as outbox_setup_v3 makes them, unless ``v3_feed_groups`` says (``{}``:
        # none, ``V3_BUILT_IN_GROUPS``: a new app's).
        self.v3 = V3Service(api_key, api_secret, build_v3_feed_groups(v3_feed_groups, groups))
        self.faults = FaultInjector(seed=seed)
        self._initial_faults = dict(faults or {})
        self.faults.config.update(**self._initial_faults)
        self.stats_counter = Stats()
        self.router = build_router()
        # v2's and v3's tables, in the same file over the same connection
        self.database = Database(data_path) if data_path else None
        self.persistence = Persistence(self.database.connect) if self.database else None
        self.v3_persistence = V3Persistence(self.database.connect) if self.database else None
        self.inspector = Inspector(
            api_key=api_key,
            store=self.store,
            v3_store=self.v3.store,
            faults=self.faults,
            stats=self.stats_on_loop,
            reset=self.reset_on_loop,
        )
        self._connections: set[HttpProtocol] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def __repr__(self) -> str:
        return f"Emulator(url={self.url!r}, api_key={self.auth.api_key!r})"

    @property
    def api_key(self) -> str:
        return self.auth.api_key

    @property
    def url(self) -> str:
        # the client builds api.<host> for IP addresses; only `localhost` is used as given
        return f"http://localhost:{self.port}"

    # -- lifecycle ---------------------------------------------------------------

    async def _open(self) -> asyncio.Event:
        """Listen; returns the event that stops the server."""
        if self.persistence is not None:
            self.persistence.load(self.store)
            self.store.changes = Changes()
        if self.v3_persistence is not None:
            self.v3_persistence.load(self.v3.store)
            self.v3.store.changes = V3Changes()
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopped = asyncio.Event()
        self._server = await loop.create_server(
            lambda: HttpProtocol(self._dispatch, self._connections),
            self.host,
            self.port,
            reuse_address=True,
            backlog=1024,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self._stopped

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.close()
        if self._server is not None:
            await self._server.wait_closed()
        if self.database is not None:
            self._persist()
            self.database.close()

    def start(self) -> Emulator:
        """Start in a daemon thread; returns once the port is listening."""
        ready: Future[None] = Future()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                stopped = loop.run_until_complete(self._open())
            except BaseException as exc:  # report startup failure to the caller
                ready.set_exception(exc)
                loop.close()
                return
            ready.set_result(None)
            try:
                loop.run_until_complete(stopped.wait())
                loop.run_until_complete(self._close())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="stream-emulator", daemon=True)
        self._thread.start()
        ready.result(timeout=30)
        return self

    def stop(self) -> None:
        if self._loop is None or self._stopped is None:
            return
        if self._thread is not None and self._thread is not threading.current_thread():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=30)
            self._thread = None
            self._loop = None
        else:
            self._stopped.set()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self, on_ready: Callable[[Emulator], None] | None = None) -> None:
        """Run on the calling thread until SIGINT/SIGTERM (the CLI)."""

        async def main() -> None:
            stopped = await self._open()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stopped.set)
            if on_ready is not None:
                on_ready(self)
            await stopped.wait()
            await self._close()

        asyncio.run(main())

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the loop thread: state is only ever touched there."""
        loop = self._loop
        if loop is None or not loop.is_running() or self._thread is threading.current_thread():
            return fn()
        try:
            if asyncio.get_running_loop() is loop:
                return fn()
        except RuntimeError:
            pass
        done: Future[T] = Future()

        def call() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:
                done.set_exception(exc)

        loop.call_soon_threadsafe(call)
        return done.result(timeout=30)

    # -- Python control API ------------------------------------------------------

    def reset(self) -> None:
        """Forget all feeds, activities, follows, counters and faults."""
        self._on_loop(self.reset_on_loop)

    def v3_state(self, read: Callable[[Any], T]) -> T:
        """``read(store)`` on the emulator's loop: the Feeds v3 store (emulator/v3/store.py)."""
        return self._on_loop(lambda: read(self.v3.store))

    def reset_on_loop(self) -> None:
        """``reset()`` for a caller already on the emulator's loop (the inspector's handlers)."""
        self.store.reset()
        self.v3.reset()
        self.faults.reset()
        self.faults.config.update(**self._initial_faults)
        self.stats_counter.reset()
        if self.persistence is not None:
            self.persistence.clear()
            self.store.changes = Changes()
        if self.v3_persistence is not None:
            self.v3_persistence.clear()
            self.v3.store.changes = V3Changes()

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault settings (latency_ms, latency_jitter_ms, error_rate, ...); returns them all."""

        def apply() -> dict[str, Any]:
            self.faults.config.update(**changes)
            return self.faults.config.as_dict()

        return self._on_loop(apply)

    def faults_config(self) -> dict[str, Any]:
        return self._on_loop(self.faults.config.as_dict)

    def stats(self) -> dict[str, Any]:
        return self._on_loop(self.stats_on_loop)

    def stats_on_loop(self) -> dict[str, Any]:
        """``stats()`` for a caller already on the emulator's loop (the inspector's handlers)."""
        stats = self.stats_counter.as_dict()
        store = self.store
        stats["activities"] = len(store.activities)
        stats["feeds"] = len(store.feeds)
        stats["follows"] = sum(len(v) for v in store.following.values())
        stats["writes_logged"] = store.seq
        v3_log = self.v3.store.log  # its newest row's seq: how many v3 writes were applied
        stats["v3_writes_logged"] = v3_log[-1]["seq"] if v3_log else 0
        return stats

    def request_log(self) -> list[dict[str, Any]]:
        """Applied writes in order: {seq, op, feed, foreign_id, id, time, target, matched, at}."""
        return self._on_loop(self.store.request_log)

    # -- request handling ----------------------------------------------------------

    def _dispatch(self, request: Request) -> Response | Any:
        if request.path.startswith("/_emulator"):
            return self.inspector.handle(request)
        delay = self.faults.latency()
        if delay > 0:
            return self._delayed(request, delay)
        return self._serve(request)

    async def _delayed(self, request: Request, delay: float) -> Response:
        # asyncio.sleep, not time.sleep: other connections proceed meanwhile
        self.stats_counter.faults["latency"] += 1
        await asyncio.sleep(delay)
        return self._serve(request)

    def _serve(self, request: Request) -> Response:
        if self.v3.handles(request.path):
            return self._serve_v3(request)
        started = time.perf_counter()
        name, headers = "unknown", None
        counters = self.stats_counter
        try:
            route, call = prepare(self.router, request, self.store, self.auth)
            name = route.name
            if self.faults.config.suspended:
                raise ApiError(7, SITE_SUSPENDED)
            allowed, headers = self.faults.rate_limit(route.rate_limit, time.time())
            if not allowed:
                counters.faults["rate_limited"] += 1
                raise ApiError(9, RATE_LIMITED)
            if self.faults.error():
                counters.faults["error"] += 1
                # Stream documents code -1 for its 500s (docs/topics/stream-errors.md)
                raise ApiError(
                    -1,
                    "injected server error (emulator fault injection); nothing was applied",
                    status=500,
                )
            try:
                result = route.handler(call)
            finally:
                self._persist()
            if route.writes and self.faults.lost_response():
                counters.faults["lost_response"] += 1
                counters.requests[name] += 1
                counters.responses["dropped"] += 1
                return Response(0, b"", drop=True)
            result["duration"] = _duration(started)
            response = Response(200, result, headers or None)
        except ApiError as exc:
            response = Response(
                exc.status, {**exc.body(), "duration": _duration(started)}, headers or None
            )
        except Exception as exc:  # a bug must still answer JSON with a detail
            traceback.print_exc(file=sys.stderr)
            body = ApiError(1, f"internal emulator error: {exc!r}").body()
            response = Response(500, {**body, "duration": _duration(started)})
        counters.requests[name] += 1
        counters.responses[str(response.status)] += 1
        return response

    def _serve_v3(self, request: Request) -> Response:
        """One Feeds v3 request, with the same faults as v2's (in v3's error shape)."""
        started = time.perf_counter()
        name, headers = "v3:unknown", None
        counters = self.stats_counter
        try:
            route, call = self.v3.prepare(request)
            name = f"v3:{route.name}"
            if self.faults.config.suspended:
                raise V3Error(99, "app suspended", status=401)
            if route.limited:
                allowed, headers = self.faults.rate_limit(name, time.time())
                if not allowed:
                    counters.faults["rate_limited"] += 1
                    reset = int(headers["X-Ratelimit-Reset"])
                    headers["Retry-After"] = str(max(1, reset - int(time.time())))
                    raise V3Error(9, RATE_LIMITED)
            if self.faults.error():
                counters.faults["error"] += 1
                raise V3Error(
                    -1, "injected server error (emulator fault injection); nothing was applied"
                )
            try:
                result = route.handler(call)
            finally:
                self._persist()  # a failed batch may have applied part of itself
            if route.writes and self.faults.lost_response():
                counters.faults["lost_response"] += 1
                counters.requests[name] += 1
                counters.responses["dropped"] += 1
                return Response(0, b"", drop=True)
            result["duration"] = _duration(started)
            response = Response(200, result, headers or None)
        except V3Error as exc:
            response = Response(exc.status, exc.body(_duration(started)), headers or None)
        except Exception as exc:  # a bug must still answer in v3's error shape
            traceback.print_exc(file=sys.stderr)
            body = V3Error(-1, f"internal emulator error: {exc!r}").body(_duration(started))
            response = Response(500, body)
        counters.requests[name] += 1
        counters.responses[str(response.status)] += 1
        return response

    def _persist(self) -> None:
        """Commit both stores' changes: called before a request is answered, so an
        acknowledged write (v2's or v3's) survives a crash."""
        if self.persistence is not None and self.store.changes:
            self.persistence.flush(self.store)
        if self.v3_persistence is not None and self.v3.store.changes:
            self.v3_persistence.flush(self.v3.store)


def _duration(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.2f}ms"
