"""The nemesis: the faults a chaos scenario injects while its writers and relays run.

Each fault kind is a method run on its own thread until the scenario stops it; what it did is
counted by kind, and those counts are reported next to the emulator's own fault counters.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from tests.chaos import checker
from tests.chaos.processes import EMULATOR_KEY, EMULATOR_SECRET


class Nemesis:
    """Injects the scenario's faults on a thread until stopped; counts what it did."""

    def __init__(self, kinds, emulator, relays, database_url, rng, apis=("v2",)) -> None:
        # A rate-limit storm hits every API the relays write: a thread per API.
        kinds = [
            f"{kind}_{api}" if kind == "rate_limit_storm" else kind
            for kind in kinds
            for api in (apis if kind == "rate_limit_storm" else (None,))
        ]
        self.kinds = kinds
        self.apis = tuple(apis)
        self.emulator = emulator
        self.relays = relays
        self.database_url = database_url
        self.rng = rng
        self.counts: Counter[str] = Counter()
        self.stop_event = threading.Event()
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._run, args=(k,), daemon=True) for k in kinds]

    def start(self) -> None:
        if "rate_limit_storm_v3" in self.kinds:
            # The SDK's import takes seconds on a busy host: paid before the clock runs, not
            # out of the storm's time (which it once outlasted).
            import getstream.models  # noqa: F401
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join()
        if self.errors:
            raise self.errors[0]

    def _run(self, kind: str) -> None:
        try:
            getattr(self, kind)()
        except BaseException as exc:  # surfaced by stop()
            self.errors.append(exc)

    def _pause(self, low: float, high: float) -> bool:
        return not self.stop_event.wait(self.rng.uniform(low, high))

    def kill_relays(self) -> None:
        while self._pause(0.3, 1.2):
            self.relays.kill_one()
            self.counts["relay_sigkill"] += 1

    def kill_after_apply(self) -> None:
        """SIGKILL every relay right after Stream applied a write: between the call and the mark."""
        while self._pause(0.8, 2.0):
            before = self._writes()
            while not self.stop_event.is_set() and self._writes() == before:
                time.sleep(0.01)
            self.relays.kill_all()
            self.counts["relay_sigkill_after_apply"] += 1

    def _written(self) -> dict[str, int] | None:
        """Writes each API has applied in this emulator incarnation (None: it is down)."""
        try:
            stats = self.emulator.stats()
        except OSError:
            return None
        return {"v2": stats["writes_logged"], "v3": stats["v3_writes_logged"]}

    def _writes(self) -> int:
        """Writes applied so far, on either API: a kill follows any write Stream applied."""
        written = self._written()
        return -1 if written is None else sum(written.values())

    def pg_terminate(self) -> None:
        import psycopg

        roles = ("chaos-writer", "chaos-relay")
        rounds = 0
        while self._pause(0.3, 1.0):
            role = roles[rounds % 2]  # writers first: they finish early
            rounds += 1
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                (killed,) = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = %s",
                    (role,),
                ).fetchone()
            self.counts[f"pg_terminate_{role.split('-')[1]}"] += killed

    def restart_emulator(self) -> None:
        """Crash the emulator once every API written has applied writes since the last crash
        (a v3 relay imports the getstream SDK for seconds before its first write)."""
        while self._pause(1.5, 3.0) or not self.counts["emulator_restart"]:
            # At least one crash, even past the fault time (a busy host's v3 relays may start
            # writing only then), once every API has written: bounded, the outbox may be empty.
            deadline = time.monotonic() + 30
            while not self._every_api_wrote():
                if self.stop_event.wait(0.05):
                    if self.counts["emulator_restart"] or time.monotonic() > deadline:
                        return
                    time.sleep(0.05)
            self.emulator.crash_and_restart()
            self.counts["emulator_restart"] += 1

    def _every_api_wrote(self) -> bool:
        """Whether each API of the run has applied a write in this emulator incarnation."""
        written = self._written()
        return written is not None and all(written[api] > 0 for api in self.apis)

    def rate_limit_storm_v2(self) -> None:
        """Stream's limits in 30 s windows, and bursts that spend an endpoint's whole budget."""
        from stream.exceptions import RateLimitReached

        from feed_outbox.client import build_client

        self.emulator.set_faults(rate_limits="stream", rate_limit_scale=2)
        client = build_client(
            api_key=EMULATOR_KEY, api_secret=EMULATOR_SECRET, base_url=self.emulator.url
        )
        noise = client.feed(*checker.NOISE_FEED.split(":"))
        invalid = {"actor": "noise", "verb": "noise", "object": "noise", "time": "never"}
        calls = [
            lambda i: noise.remove_activity(foreign_id=f"noise:{i}"),
            lambda i: noise.add_activity(invalid),  # counted by the limiter, never applied
        ]
        self._storm(calls, lambda exc: isinstance(exc, RateLimitReached))

    def rate_limit_storm_v3(self) -> None:
        """The same on Feeds v3: per-endpoint budgets (in 30 s windows) spent on the endpoints
        the relays call, by requests that are counted and never applied."""
        from getstream.exceptions import StreamApiException
        from getstream.models import ActivityRequest, FollowRequest

        from feed_outbox.client import build_v3_client

        # A fifth of Stream's minute budgets of the endpoints the relays call: spent in a
        # second by the storm (at Stream's 300, a storm round outlasted the whole run).
        budgets = {f"v3:{n}": 60 for n in ("UpsertActivities", "DeleteActivities", "FollowBatch")}
        self.emulator.set_faults(
            rate_limits="stream", rate_limit_scale=2, rate_limit_counts=budgets
        )
        feeds = build_v3_client(
            api_key=EMULATOR_KEY, api_secret=EMULATOR_SECRET, base_url=self.emulator.url
        ).feeds
        noise = checker.NOISE_FEED
        calls = [
            # unknown ids: a 404 after the limiter counted the request
            lambda i: feeds.delete_activities(ids=[f"noise-{i}"], hard_delete=True),
            # no type: a 400 after the limiter counted the request
            lambda i: feeds.upsert_activities(
                activities=[ActivityRequest(type="", feeds=[noise], user_id="noise")]
            ),
            # a feed group that is not configured: rejected after counting
            lambda i: feeds.get_or_create_follows(
                follows=[FollowRequest(source=f"nogroup:{i}", target=noise)]
            ),
        ]
        self._storm(
            calls, lambda exc: isinstance(exc, StreamApiException) and exc.status_code == 429
        )

    def _storm(self, calls, is_rate_limited) -> None:
        while self._pause(0.05, 1.0):
            self.counts["rate_limit_storm"] += 1
            for call in calls:
                for i in range(1100):
                    if self.stop_event.is_set():
                        return
                    try:
                        call(i)
                    except Exception as exc:
                        if is_rate_limited(exc):
                            break  # this endpoint's budget is spent: the relays now meet 429s
