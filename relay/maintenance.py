"""The relay's upkeep beside delivery: parking blocked events, sweeping orphaned parks and
refreshing the pending/lag gauges, each a job with its own interval.

River runs each of its maintenance services (internal/maintenance/: rescuer, cleaner) as one
loop doing one job. Here the jobs are run by the delivery loop's thread, which calls
``run_due()`` once a turn: that thread owns the database connection (relay.runner), so a job
never runs beside a claim or a settlement, and a database error in a job is the loop's to
survive like any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from relay import queries
from relay.metrics import LAG, PENDING, Metrics
from relay.options import RelayOptions

STATS_EVERY = 2.0  # seconds between refreshes of the pending/lag gauges
PARK_EVERY = 1.0  # seconds between park passes (relay.queries.park)
PARK_BUDGET = 0.2  # seconds a park pass may go on while most of what it reads is blocked
UNPARK_ORPHANS_EVERY = 30.0  # seconds between sweeps for parks whose blocker left by hand


@dataclass
class Job:
    """One maintenance job: ``run`` every ``every`` seconds; ``due_at`` is monotonic."""

    name: str
    every: float
    run: Callable[[], object]
    due_at: float = 0.0


class Maintenance:
    """The relay's maintenance jobs, run by ``run_due()`` when their interval is over."""

    def __init__(
        self,
        options: RelayOptions,
        metrics: Metrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.metrics = metrics
        self.clock = clock
        # In this order on a turn where all are due: the gauges, then the sweep, then parking.
        self.jobs = [
            Job("statistics", STATS_EVERY, self.refresh_stats),
            Job("unpark_orphans", UNPARK_ORPHANS_EVERY, self.unpark_orphans),
            Job("park", PARK_EVERY, self.park),
        ]

    def run_due(self, now: float | None = None) -> list[str]:
        """Run every job whose time has come; the names of those run. A job is rescheduled
        before it runs: one that raises (the database is down) waits for its next turn."""
        now = self.clock() if now is None else now
        ran = []
        for job in self.jobs:
            if now < job.due_at:
                continue
            job.due_at = now + job.every
            ran.append(job.name)
            job.run()
        return ran

    def refresh_stats(self) -> None:
        stats = queries.pending_stats(self.options.using)
        self.metrics.set_gauge(PENDING, stats.pending)
        self.metrics.set_gauge(LAG, stats.lag_seconds())

    def unpark_orphans(self) -> int:
        """Clear parks whose blocker left pending outside the relay (deleted, settled by hand)."""
        return queries.unpark_orphans(self.options.using)

    def park(self) -> int:
        """Take events that wait behind older pending ones out of the claim's way, so a
        backlog held behind a few events is not read again by every claim; passes go on
        while most of what they read is blocked, within PARK_BUDGET. How many were parked."""
        opts = self.options
        deadline = self.clock() + PARK_BUDGET
        parked = 0
        while True:
            done = queries.park(opts.using, opts.api)
            parked += done
            if done < queries.PARK_SCAN // 2 or self.clock() >= deadline:
                return parked
