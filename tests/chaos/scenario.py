"""One chaos run: users, emulator, relays and writers as processes, a nemesis, a drain, the checker.

Everything random derives from the scenario's seed (workload, nemesis timing, the emulator's
fault injection), so a failing run is rerun with the seed it prints; process scheduling is
the one thing a seed cannot pin.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.chaos import checker
from tests.chaos.faults import Nemesis
from tests.chaos.processes import (
    EMULATOR_KEY,
    EMULATOR_SECRET,
    EmulatorProcess,
    RelayPool,
    run_writers,
    wait_for,
)
from tests.chaos.reads import V3Reader

SCALE = float(os.environ.get("CHAOS_SCALE", "1"))
CLEAR_FAULTS = {
    "error_rate": 0,
    "lost_response_rate": 0,
    "latency_ms": 0,
    "latency_jitter_ms": 0,
    "rate_limits": "off",
}


@dataclass
class Scenario:
    name: str
    writers: int = 3
    relays: int = 2
    # Per writer, before CHAOS_SCALE; with the prolific author's ~140 tweets a run is ~330 events.
    transactions: int = 40
    rollback_rate: float = 0.15
    users: int = 18
    pause: float = 0.01
    emulator_faults: dict[str, Any] = field(default_factory=dict)
    data: bool = False  # emulator with --data, needed to restart it
    nemesis: tuple[str, ...] = ()
    clock_skews: tuple[float, ...] = ()  # seconds per writer
    relay_env: dict[str, str] = field(default_factory=dict)
    wrong_secret: bool = False  # relays start with a wrong secret, corrected after the writers
    clear_faults: bool = True  # stop injecting faults once the writers are done
    drain_timeout: float = 120.0
    scale_drain: bool = True  # soak backlogs are larger: the deadline grows with CHAOS_SCALE
    # The nemesis keeps going at least this long (through the drain if the writers are quick).
    fault_seconds: float = 8.0
    outage: bool = False  # no relay runs while the writers do: the whole run is one backlog
    prolific: bool = True  # the first user posts past the copy limit (writer 0 posts as them)
    prolific_every: int = 5  # a burst of its tweets every N transactions of its writer
    # FEED_OUTBOX_STREAM_API of the writers and relays: "v2", "v3" or "v2+v3"; every API
    # written is checked against the database on its own.
    api: str = "v2"

    @property
    def apis(self) -> tuple[str, ...]:
        return tuple(self.api.split("+"))


@dataclass
class Result:
    scenario: str
    seed: int
    reports: dict[str, checker.Report]  # per API written
    events: int
    statuses: dict[str, int]
    faults: dict[str, int]
    writers: list[dict]
    elapsed: float
    relay_output: str
    drained: bool
    diagnosis: str = ""
    drain_seconds: float | None = None  # outage scenarios: time to drain the backlog
    # what a scenario's own probe read, per API written
    probe: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def report(self) -> checker.Report:
        """Every API's counts together (a v2+v3 run is consistent if both are)."""
        return checker.combined(self.reports)

    def summary(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.report.counts.items())
        faults = ",".join(f"{k}:{v}" for k, v in self.faults.items()) or "none"
        per_api = " ".join(
            f"{api}:[{report.per_type()}]" for api, report in self.reports.items()
        )
        return (
            f"chaos scenario={self.scenario} seed={self.seed} events={self.events} "
            f"statuses={self.statuses} faults={faults} {counts} "
            f"per_type(lost/phantom/duplicated/stale/order)={per_api} "
            f"feeds={self.report.feeds_checked} expected_activities="
            f"{self.report.activities_expected} writes_logged={self.report.writes_logged} "
            f"drained={self.drained} "
            f"elapsed={self.elapsed:.1f}s"
            + (f" backlog_drain={self.drain_seconds:.1f}s" if self.drain_seconds else "")
            + "".join(
                f" {api}.{k}={v}" for api, read in self.probe.items() for k, v in read.items()
            )
            + (f" undrained: {self.diagnosis}" if self.diagnosis else "")
            + (f" ({self.report.diagnosis})" if self.report.diagnosis else "")
        )


# The APIs each scenario runs on. ``make test`` runs v2 and v2+v3 (which delivers to v3 and
# checks v3's feeds on their own: every v3 code path); v3 alone is ``make soak``'s, or
# CHAOS_APIS="v2,v3,v2+v3".
APIS = tuple(
    (os.environ.get("CHAOS_APIS") or ("v2,v3,v2+v3" if SCALE > 1 else "v2,v2+v3")).split(",")
)
# ``make test``'s workload per writer on v3 and v2+v3 (the v2 runs keep theirs): the same
# faults on a third of the events. ``make soak`` (CHAOS_SCALE > 1) runs them at full size.
REDUCED_TRANSACTIONS = 15


def on_api(scenario: Scenario, api: str) -> Scenario:
    """``scenario`` on ``api``, named ``<name>.<api>`` unless it is v2 (the name it always had)."""
    if api == "v2":
        return replace(scenario, api=api)
    reduced = {}
    if SCALE <= 1 and scenario.transactions > REDUCED_TRANSACTIONS:
        # bursts twice as often: the prolific author still passes the follow copy limit
        reduced = {"transactions": REDUCED_TRANSACTIONS, "prolific_every": 2}
    return replace(scenario, name=f"{scenario.name}.{api}", api=api, **reduced)


def _with_app_name(url: str, name: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def _drained_or_crash_looping(relays: RelayPool) -> bool:
    from feed_outbox.models import OutboxEvent

    crashes = sum(n for code, n in relays.exits.items() if code not in (-9, 0))
    if crashes > 30:
        raise RuntimeError(f"relays crash-loop ({dict(relays.exits)}):\n{relays.output()[-3000:]}")
    return not OutboxEvent.objects.filter(status="pending").exists()


def pending_diagnosis() -> str:
    """Why events are still pending: leased, backing off, or queued behind their key."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from feed_outbox.models import OutboxEvent

    now = timezone.now()
    pending = OutboxEvent.objects.filter(status="pending")
    older = pending.filter(ordering_key=OuterRef("ordering_key"), id__lt=OuterRef("id"))
    heads = pending.exclude(Exists(older))
    sample = list(
        heads.order_by("id").values(
            "id",
            "kind",
            "ordering_key",
            "attempts",
            "available_at",
            "lease_expires_at",
            "last_error",
        )[:3]
    )
    return (
        f"pending={pending.count()} heads_of_keys={heads.count()} "
        f"leased={pending.filter(lease_expires_at__gt=now).count()} "
        f"backing_off={pending.filter(available_at__gt=now).count()} now={now:%H:%M:%S} "
        f"oldest_heads={sample}"
    )


def make_users(count: int) -> list[int]:
    from tests.factories import UserFactory

    return [UserFactory().pk for _ in range(count)]


def run(
    scenario: Scenario,
    seed: int,
    workdir: Path,
    base_env: dict[str, str],
    database_url: str,
    before_writers: Callable[[list[int]], dict[str, int] | None] | None = None,
    probe: Callable[[Any], dict[str, int]] | None = None,
) -> Result:
    """Run ``scenario`` against the test database at ``database_url``; never raises on counts."""
    from feed_outbox.client import build_client, build_v3_client
    from feed_outbox.models import OutboxEvent

    started = time.monotonic()
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    users = make_users(scenario.users)
    emulator = EmulatorProcess(workdir, seed, data=scenario.data, **scenario.emulator_faults)
    emulator.start()
    env = {**base_env, "DJANGO_SETTINGS_MODULE": "tests.chaos.settings"}
    env["FEED_OUTBOX_TEST_STREAM_BASE_URL"] = emulator.url
    env["FEED_OUTBOX_TEST_STREAM_API"] = scenario.api
    relay_env = {**env, **scenario.relay_env}
    relay_env["DATABASE_URL"] = _with_app_name(database_url, "chaos-relay")
    if scenario.wrong_secret:
        relay_env["FEED_OUTBOX_TEST_STREAM_API_SECRET"] = "not-the-secret-" + str(seed)
    relays = RelayPool(relay_env, workdir, scenario.relays, rng)
    if not scenario.outage:
        relays.start()
        relays.wait_ready(len(scenario.apis))
    nemesis = Nemesis(scenario.nemesis, emulator, relays, database_url, rng, scenario.apis)
    writer_env = {**env, "DATABASE_URL": _with_app_name(database_url, "chaos-writer")}
    transactions = max(1, int(scenario.transactions * SCALE))
    argv = []
    for w in range(scenario.writers):
        args = [
            f"--seed={seed}",
            f"--writer={w}",
            f"--authors={','.join(map(str, users[w :: scenario.writers]))}",
            f"--users={','.join(map(str, users))}",
            f"--transactions={transactions}",
            f"--rollback-rate={scenario.rollback_rate}",
            f"--pause={scenario.pause}",
        ]
        if scenario.prolific:
            args += [f"--prolific={users[0]}", f"--prolific-every={scenario.prolific_every}"]
        if scenario.clock_skews:
            args.append(f"--clock-skew={scenario.clock_skews[w % len(scenario.clock_skews)]}")
        argv.append(args)
    drained = False
    drain_started = 0.0
    drain_seconds = None
    diagnosis = ""
    planted: Counter[str] = Counter()
    try:
        if before_writers is not None:
            from django.test import override_settings

            # what the test process plants is written for the scenario's APIs, as the writers'
            with override_settings(FEED_OUTBOX_STREAM_API=scenario.api):
                planted.update(before_writers(users) or {})
        nemesis.start()
        faults_until = time.monotonic() + scenario.fault_seconds
        try:
            writers = run_writers(writer_env, argv, timeout=600)
            if scenario.outage:
                drain_started = time.monotonic()
                relays.start()
            if scenario.nemesis:
                time.sleep(max(0.0, faults_until - time.monotonic()))
        finally:
            nemesis.stop()
        if scenario.clear_faults:
            emulator.set_faults(**CLEAR_FAULTS)
        if scenario.wrong_secret:
            relays.restart_with(FEED_OUTBOX_TEST_STREAM_API_SECRET=EMULATOR_SECRET)
        try:
            wait_for(
                lambda: _drained_or_crash_looping(relays),
                scenario.drain_timeout * (max(1.0, SCALE / 3) if scenario.scale_drain else 1.0),
                0.2,
                "the relays to drain the outbox",
            )
            drained = True
            drain_seconds = time.monotonic() - drain_started if scenario.outage else None
        except TimeoutError:
            diagnosis = pending_diagnosis()
        relays.stop()
        emulator.set_faults(**CLEAR_FAULTS)  # the checker's reads are not under test
        credentials = {
            "api_key": EMULATOR_KEY,
            "api_secret": EMULATOR_SECRET,
            "base_url": emulator.url,
            "timeout": 30,
        }
        client = build_client(**credentials)
        readers = {"v2": client}
        if "v3" in scenario.apis:
            readers["v3"] = V3Reader(build_v3_client(**credentials))
        reports = {
            api: checker.check(users, readers[api], emulator.request_log(api), api)
            for api in scenario.apis
        }
        probed = {api: probe(readers[api]) for api in scenario.apis} if probe is not None else {}
        faults = emulator.fault_totals()
    finally:
        relays.stop()
        emulator.stop()
    harness = Counter(nemesis.counts) + planted
    harness.update({f"relay_exit_{code}": n for code, n in relays.exits.items() if code != -9})
    if emulator.restarts:
        # writes a crashed incarnation had applied: what the restart puts to the test
        for api in scenario.apis:
            harness[f"{api}_writes_before_a_crash"] = sum(map(len, emulator.logs[api][:-1]))
    if scenario.wrong_secret:
        harness["wrong_secret_relays"] = scenario.relays
    if scenario.clock_skews:
        harness["clock_skewed_writers"] = sum(1 for s in scenario.clock_skews if s)
    statuses = Counter(OutboxEvent.objects.values_list("status", flat=True))
    return Result(
        scenario=scenario.name,
        seed=seed,
        reports=reports,
        events=sum(statuses.values()),
        statuses=dict(statuses),
        faults=checker.fault_counts(faults, harness),
        writers=writers,
        elapsed=time.monotonic() - started,
        relay_output=relays.output(),
        drained=drained,
        diagnosis=diagnosis,
        drain_seconds=drain_seconds,
        probe=probed,
    )
