"""Every outbox_* command and ``manage.py relay``, given a bad argument, answers one line naming
it and exits 2 (docs/topics/operations.md's "usage or configuration error"), never a traceback or exit 0/1.

Each argument gets a table of known mistakes (the issue's among them) and values hypothesis
generates from a class that can never be valid (no decimal digit where a number is needed, a
feed id stream-python itself refuses, a label no Activity model has).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import pytest
from django.core import checks
from django.core.management import load_command_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stream.utils import validate_feed_id

from feed_outbox.operations.current_state import activity_models

# run_from_argv closes the connections when it ends, as under manage.py: no test transaction.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

@pytest.fixture(autouse=True)
def quiet_checks(settings):
    # The test apps have models the checks warn about on stderr; a project's own warnings are
    # no part of the one line a bad argument gets.
    settings.SILENCED_SYSTEM_CHECKS = sorted(
        {message.id for message in checks.run_checks() if not message.is_serious()}
    )


APPS = {"relay": "relay"}  # every other command is feed_outbox's


@dataclass
class Answer:
    code: int | None
    out: str
    err: str


def run_from_command_line(command: str, *args: str) -> Answer:
    """What a shell sees from ``manage.py command args``: the exit code and the output.
    Anything but SystemExit escaping here is a traceback."""
    out, err = io.StringIO(), io.StringIO()
    code: int | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        # The command's stdout/stderr wrap sys.stdout/sys.stderr when it is made.
        cmd = load_command_class(APPS.get(command, "feed_outbox"), command)
        try:
            cmd.run_from_argv(["manage.py", command, *args])
        except SystemExit as exc:
            code = exc.code
    return Answer(code, out.getvalue(), err.getvalue())


def refusal_problem(command: str, name: str, value: str, *before: str) -> str | None:
    """None when ``command`` refuses ``value`` for ``name`` as a script needs, else why not."""
    args = [*before, f"{name}={value}"] if name.startswith("--") else [*before, "--", value]
    answer = run_from_command_line(command, *args)
    lines = answer.err.strip().splitlines()
    shown = f"{command} {' '.join(args)!r}: exit {answer.code}, stderr {answer.err!r}"
    if answer.code != 2 or len(lines) != 1 or "Traceback" in answer.err + answer.out:
        return shown
    if name.lstrip("-") not in lines[0] or (repr(value) not in lines[0] and value not in lines[0]):
        return f"{shown}: the line names neither the argument nor the value"
    return None


def assert_refused(command: str, name: str, value: str, *before: str) -> None:
    problem = refusal_problem(command, name, value, *before)
    assert problem is None, problem


# --- the tables: mistakes people make, per argument type --------------------------------------

COUNTS = ["abc", "", "1.5", "nan", "²", "1e3", "0x10", "-1", "99999999999999999999999999" * 2]
SECONDS = ["nan", "inf", "-inf", "NaN", "abc", "", "-1", "1e999", "²", "1,5"]
DURATIONS = [
    "3000000d", "99999999999d", "9" * 400, "nan", "inf", "-1d", "1y", "", "²d", "1e3s", "d", "7 days",
]  # fmt: skip
INSTANTS = [*DURATIONS, "2024-13-45", "2024-02-30T25:00", "0000-01-01", "2020-01-01T00:00+99:00"]
FEEDS = [
    "x", "x:", ":1", "../../etc:passwd", "user:1:2", "user:", "user:1\n", "us er:1", "user:1 ",
    "user/1", "", "no_such_group:1",
]  # fmt: skip
MODELS = ["nonexistent.Model", "auth.User", "sample_app", "", ".", "sample_app.Tweet.x", "x" * 300]
KEYS = [
    "garbage", "sample_app.Tweet:abc", "sample_app.Tweet:", "auth.User:1", "follow:x",
    "follow:user:1>", "follow:>user:1", "sample_app.Tweet:99999999999999999999999", "",
]  # fmt: skip
PKS = ["abc", "", "1.5", "99999999999999999999999", "-99999999999999999999999", "²"]
DATABASES = ["nope", "", "DEFAULT"]
APIS = ["v4", "", "V2", "v2+v3"]

# (command, argument, its table, arguments the command needs besides it)
ARGUMENTS = [
    ("outbox_status", "--max-lag", SECONDS, ()),
    ("outbox_status", "--minutes", [*COUNTS, "0", "99999999999"], ()),
    ("outbox_status", "--database", DATABASES, ()),
    ("outbox_purge", "--older-than", DURATIONS, ()),
    ("outbox_purge", "--batch-size", [*COUNTS, "0"], ()),
    ("outbox_backfill", "model", MODELS, ()),
    ("outbox_backfill", "--since", INSTANTS, ("sample_app.Tweet",)),
    ("outbox_backfill", "--batch-size", [*COUNTS, "0"], ("sample_app.Tweet",)),
    ("outbox_backfill", "--after-pk", PKS, ("sample_app.Tweet",)),
    ("outbox_backfill", "--api", APIS, ("sample_app.Tweet",)),
    ("outbox_replay", "--since", INSTANTS, ()),
    ("outbox_replay", "--until", INSTANTS, ()),
    ("outbox_replay", "--feed", FEEDS, ()),
    ("outbox_replay", "--key", KEYS, ()),
    ("outbox_replay", "--model", MODELS, ()),
    ("outbox_replay", "--chunk-size", [*COUNTS, "0"], ("--all",)),
    ("outbox_replay", "--api", APIS, ("--all",)),
    ("outbox_replay", "--database", DATABASES, ("--all",)),
    ("outbox_reconcile", "--feed", FEEDS, ()),
    ("outbox_reconcile", "--model", MODELS, ()),
    ("outbox_reconcile", "--page-size", [*COUNTS, "0"], ()),
    ("outbox_reconcile", "--show", COUNTS, ()),
    ("outbox_reconcile", "--api", APIS, ()),
    ("outbox_reconcile", "--database", DATABASES, ()),
    ("outbox_adopt_stream_django", "models", MODELS, ()),
    ("outbox_adopt_stream_django", "--page-size", [*COUNTS, "0"], ()),
    ("outbox_adopt_stream_django", "--database", DATABASES, ()),
    ("outbox_switch_check", "label", ["nope", "", "auth.User", "x" * 300], ()),
    ("relay", "--workers", [*COUNTS, "0", "100000"], ()),
    ("relay", "--batch-size", [*COUNTS, "0", "100000"], ()),
    ("relay", "--concurrency", [*COUNTS, "0"], ()),
    ("relay", "--poll-interval", [*SECONDS, "0"], ()),
    ("relay", "--grace-period", SECONDS, ()),
    ("relay", "--metrics-port", [*COUNTS, "65536"], ()),
    ("relay", "--lease-seconds", [*SECONDS, "0"], ()),
    ("relay", "--max-attempts", [*COUNTS, "0"], ()),
    ("relay", "--retry-backoff", SECONDS, ()),
    ("relay", "--landing-seconds", SECONDS, ()),
    ("relay", "--api", APIS, ()),
    ("relay", "--database", DATABASES, ("--once",)),
]


@pytest.mark.parametrize("command", sorted({c for c, *_ in ARGUMENTS}))
def test_a_known_mistake_is_one_line_naming_it_and_exit_2(command):
    problems = [
        refusal_problem(command, name, value, *before)
        for c, name, table, before in ARGUMENTS
        if c == command
        for value in table
    ]
    assert [p for p in problems if p] == []


def test_replay_refuses_what_backfill_and_reconcile_refuse():
    for model in MODELS:
        for command, before in (("outbox_backfill", ()), ("outbox_reconcile", ())):
            name = "model" if command == "outbox_backfill" else "--model"
            assert_refused(command, name, model, *before)
        assert_refused("outbox_replay", "--model", model)


# --- generated: values from classes that can never be valid -----------------------------------

# A command line holds no NUL and no lone surrogate; without a decimal digit (category Nd) no
# text is a count, a pk, a duration or (but nan/inf, also refused) a number of seconds.
DIGITLESS = st.text(st.characters(blacklist_categories=("Nd", "Cs"), blacklist_characters="\x00"))
TOO_FAR_BACK = st.integers(min_value=750_000, max_value=10**30).map(lambda days: f"{days}d")


def stream_python_refuses(value: str) -> bool:
    try:
        validate_feed_id(value)
    except ValueError:
        return True
    return False


def not_an_activity_label(value: str) -> bool:
    # outbox_replay's --model also takes "follow", in any case (the follow events).
    labels = {m._meta.label_lower for m in activity_models()} | {"follow"}
    return value.strip().lower() not in labels


ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
GENERATED = {
    "count": DIGITLESS,
    "seconds": DIGITLESS,
    "duration": st.one_of(DIGITLESS, TOO_FAR_BACK),
    "feed": ANY_TEXT.filter(stream_python_refuses),
    "model": ANY_TEXT.filter(not_an_activity_label),
    "key": st.one_of(
        DIGITLESS.filter(lambda s: not s.startswith("follow:")),
        DIGITLESS.map(lambda s: f"sample_app.Tweet:{s}"),
        ANY_TEXT.filter(stream_python_refuses).map(lambda s: f"follow:{s}>user:1"),
    ),
    "pk": st.one_of(DIGITLESS, st.integers(min_value=2**63).map(str)),
}
FUZZED = [
    ("outbox_status", "--max-lag", "seconds", ()),
    ("outbox_status", "--minutes", "count", ()),
    ("outbox_purge", "--older-than", "duration", ()),
    ("outbox_purge", "--batch-size", "count", ()),
    ("outbox_backfill", "model", "model", ()),
    ("outbox_backfill", "--since", "duration", ("sample_app.Tweet",)),
    ("outbox_backfill", "--after-pk", "pk", ("sample_app.Tweet",)),
    ("outbox_replay", "--since", "duration", ()),
    ("outbox_replay", "--feed", "feed", ()),
    ("outbox_replay", "--key", "key", ()),
    ("outbox_replay", "--model", "model", ()),
    ("outbox_reconcile", "--feed", "feed", ()),
    ("outbox_reconcile", "--model", "model", ()),
    ("outbox_reconcile", "--page-size", "count", ()),
    ("outbox_adopt_stream_django", "models", "model", ()),
    ("relay", "--poll-interval", "seconds", ()),
    ("relay", "--concurrency", "count", ()),
    ("relay", "--lease-seconds", "seconds", ()),
]


@pytest.mark.parametrize("command, name, kind, before", FUZZED, ids=lambda v: str(v))
@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_a_generated_bad_value_is_one_line_naming_it_and_exit_2(command, name, kind, before, data):
    assert_refused(command, name, data.draw(GENERATED[kind], label=name), *before)
