"""The bounded chaos run: each fault, a randomized multi-process workload, and zero on all five counts.

Seeds are random unless CHAOS_SEED is set; a failure prints the seed to rerun it with.
CHAOS_SCALE multiplies the workload (``make soak`` runs these at a larger scale).
Each scenario runs on the APIs of ``scenario.APIS`` (CHAOS_APIS), named ``<name>.<api>``
off v2.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.chaos.held_follow import TWEETS, HeldFollow
from tests.chaos.scenario import APIS, Scenario, on_api, run
from tests.conftest import database_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCENARIOS_V2 = [
    Scenario("steady"),
    Scenario("relay_sigkill", relays=3, nemesis=("kill_relays", "kill_after_apply")),
    Scenario(
        "stream_5xx_timeouts_lost_responses",
        emulator_faults={
            "error_rate": 0.15,
            "lost_response_rate": 0.1,
            "latency_ms": 100,
            "latency_jitter_ms": 400,
        },
        relay_env={"CHAOS_STREAM_TIMEOUT": "0.45"},
        clear_faults=False,  # the relays drain under the same faults
    ),
    Scenario("rate_limit_storm", nemesis=("rate_limit_storm",)),
    Scenario("emulator_restart", data=True, nemesis=("restart_emulator",)),
    Scenario("pg_terminate_backend", nemesis=("pg_terminate",)),
    Scenario("relay_outage_backlog", relays=3, outage=True),
]
# Every fault again on Feeds v3 through the getstream SDK, and on both APIs at once (each
# API's feeds checked on their own). ``make test`` runs these on a smaller workload.
SCENARIOS = [on_api(s, api) for api in APIS for s in SCENARIOS_V2]


def chaos_seed() -> int:
    return int(os.environ.get("CHAOS_SEED") or random.randrange(1, 10**9))


@pytest.fixture
def chaos(subprocess_env, tmp_path):
    """Run a scenario on this test's database; print its counts line (``make soak`` reads it)."""

    def go(scenario: Scenario, before_writers=None, probe=None):
        seed = chaos_seed()
        result = run(
            scenario,
            seed,
            tmp_path / scenario.name,
            subprocess_env,
            database_url(),
            before_writers,
            probe,
        )
        print(result.summary())
        return result

    return go


def assert_consistent(result) -> None:
    details = "\n".join(result.report.details)
    assert result.drained, f"outbox not drained (seed {result.seed}): {result.summary()}"
    assert result.report.ok, f"seed {result.seed}: {result.summary()}\n{details}"
    assert result.report.activities_expected > 0, "the workload produced nothing to check"
    for api, report in result.reports.items():  # each API's order check saw its writes
        assert report.writes_logged > 0, f"{api}: empty request log: {result.summary()}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_feeds_equal_the_database_after_faults(chaos, scenario):
    result = chaos(scenario)
    assert_consistent(result)
    assert result.statuses.get("dead", 0) == 0, f"healthy events dead-lettered: {result.summary()}"
    if scenario.nemesis:
        injected = sum(result.faults.values())
        assert injected > 0, f"the nemesis injected nothing: {result.summary()}"
    if scenario.data:  # some writes were applied before a crash, on every API
        for api in scenario.apis:
            crashed = result.faults.get(f"{api}_writes_before_a_crash", 0)
            assert crashed > 0, f"no {api} write before a restart: {result.summary()}"


@pytest.mark.parametrize("api", APIS)
def test_wrong_secret_pauses_the_relay_and_logs_no_secret(chaos, api):
    from tests.chaos.processes import EMULATOR_SECRET

    scenario = Scenario("wrong_secret_logs", wrong_secret=True, transactions=30, writers=2)
    result = chaos(on_api(scenario, api))
    assert_consistent(result)
    assert result.statuses.get("dead", 0) == 0
    assert "configuration error" in result.relay_output
    assert EMULATOR_SECRET not in result.relay_output
    assert f"not-the-secret-{result.seed}" not in result.relay_output


def plant_poison(users: list[int]) -> dict[str, int]:
    """A tweet, then an event Stream rejects (an invalid time) on its key, then a healthy update."""
    from django.db import transaction

    from feed_outbox.models import EventKind
    from feed_outbox.write import outbox
    from sample_app.models import Tweet

    tweet = Tweet.objects.create(user_id=users[0], text="before the poison")
    with transaction.atomic():
        poison = outbox.activity_event(tweet, EventKind.UPDATE)
        poison.payload = {**poison.payload, "time": "not-a-time", "text": "poison"}
        poison.aggregate_type = "chaos.poison"
        outbox.enqueue([poison])
    tweet.text = "after the poison"
    tweet.save()
    return {"poison_event": 1}


def test_a_poison_event_is_dead_lettered_and_delays_only_its_own_key(chaos):
    from feed_outbox.models import OutboxEvent

    scenario = Scenario("poison", relay_env={"CHAOS_MAX_ATTEMPTS": "5"})
    result = chaos(scenario, before_writers=plant_poison)

    assert_consistent(result)  # the update after the poison is what the feed shows
    poison = OutboxEvent.objects.get(aggregate_type="chaos.poison")
    assert poison.status == "dead" and poison.attempts == 5, result.summary()
    assert "InputException" in poison.last_error and "time" in poison.last_error
    assert result.statuses == {"delivered": result.events - 1, "dead": 1}
    successor = (
        OutboxEvent.objects.filter(ordering_key=poison.ordering_key, id__gt=poison.id)
        .order_by("id")
        .first()
    )
    # It waited for the poison's last attempt (never overtook it) ...
    assert successor.delivered_at >= poison.available_at
    # ... while no other key waited: every other event went through on its first attempt.
    others = OutboxEvent.objects.exclude(ordering_key=poison.ordering_key)
    assert set(others.values_list("attempts", flat=True)) == {1}, result.summary()


def test_clock_skew_between_writers_delays_nothing_and_the_frozen_time_is_kept(chaos):
    # Writer 0 runs 15 minutes behind, writer 2 one minute ahead; the relays keep real time.
    scenario = Scenario(
        "clock_skew", clock_skews=(-900.0, 0.0, 60.0), drain_timeout=20.0, scale_drain=False
    )
    result = chaos(scenario)
    # stale == 0 means every activity carries its writer's frozen created_at, to the microsecond.
    assert_consistent(result)


@pytest.mark.parametrize("api", APIS)
def test_a_held_follow_still_gets_every_later_tweet_of_its_target(chaos, api):
    """A follows B; the follow's rows are held by a dead relay's lease while B posts 150 tweets
    and the relays drain: every one of them must end in A's timeline and grouped timeline,
    on every API written."""
    held = HeldFollow()
    scenario = on_api(Scenario("held_follow", transactions=30), api)
    result = chaos(scenario, before_writers=held.plant, probe=held.probe)

    # two follow rows (timeline, timeline_aggregated) per API
    assert result.faults.get("held_follow_rows") == 2 * len(scenario.apis), result.summary()
    assert set(result.probe) == set(scenario.apis), result.summary()
    for read in result.probe.values():
        assert read["b_tweets"] == TWEETS, result.summary()
        assert read["in_a_timeline"] == TWEETS, result.summary()
        assert read["in_a_timeline_aggregated"] == TWEETS, result.summary()
    assert_consistent(result)
