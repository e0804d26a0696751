"""Every SQL statement of the relay: claiming, leasing, settling and parking outbox events.

Transactions here are short: a claim commits before any Stream call is made, and settling
only touches rows whose lease token is still the caller's (a stale worker's mark is refused).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import logging
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.db import ProgrammingError, connections, transaction
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    Field,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Now
from django.utils import timezone

from feed_outbox import conf
from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.operations.status import outbox_lag
from feed_outbox.stream_api.rate_limits import MAX_BATCH
from feed_outbox.write.causality import blocked_across_keys
from relay.events import Event, Lease

logger = logging.getLogger("relay")

# Stream's add_activities takes at most 100 activities: more events of one feed per claim
# would only wait in memory while their lease runs.
PER_FEED = MAX_BATCH
TABLE = OutboxEvent._meta.db_table

# An event is claimable when it is pending, its backoff is over, nobody holds a live lease
# on it, and no older event that it must follow is still pending. "Must follow" is:
#
# * an older event of its key (per-key FIFO across any number of relays). Events of one key
#   are serialised by the row lock of the object they describe, so id order is their commit
#   order;
# * across keys, where the order changes what readers see: an activity event
#   waits for older follows/unfollows *of* a feed it is added to (its feed, or a `to`
#   target), and a follow/unfollow of feed T waits for older activity events added to T
#   (directly or through `to`). Otherwise a follow applied after the activities committed
#   behind it copies only the newest `activity_copy_limit` of them, and an unfollow with
#   keep_history applied before an older activity leaves that activity out. Writers take
#   advisory locks on those feeds (feed_outbox.write.outbox), so id order is commit order here too.
#
# Every probe is answered by a partial index over pending rows: pending_key, pending_feed,
# pending_follow (on payload->>'target') and, for `to` targets, the GIN index pending_to.
# The clock is the database's (statement_timestamp(), which Django's Now() also reads), so
# relays on hosts with skewed clocks agree on leases and backoffs.
CLAIMABLE = """
    e.status = 'pending' AND e.api = %(api)s
    AND (e.available_at IS NULL OR e.available_at <= statement_timestamp())
    AND (e.lease_expires_at IS NULL OR e.lease_expires_at <= statement_timestamp())
    AND NOT EXISTS (
        SELECT 1 FROM {table} o
        WHERE o.ordering_key = e.ordering_key AND o.id < e.id AND o.status = 'pending'
          AND o.api = e.api
    )
    AND (e.kind NOT IN ('add', 'update', 'remove') OR NOT EXISTS (
        SELECT 1 FROM {table} o
        WHERE o.status = 'pending' AND o.api = e.api AND o.kind IN ('follow', 'unfollow')
          AND o.id < e.id
          AND (o.payload ->> 'target') = e.feed
    ))
    AND (NOT e.payload ? 'to' OR e.kind NOT IN ('add', 'update') OR NOT EXISTS (
        SELECT 1 FROM {table} o
        WHERE o.status = 'pending' AND o.api = e.api AND o.kind IN ('follow', 'unfollow')
          AND o.id < e.id
          AND (o.payload ->> 'target') IN (
              SELECT jsonb_array_elements_text(e.payload -> 'to')
          )
    ))
    AND (e.kind NOT IN ('follow', 'unfollow') OR (
        NOT EXISTS (
            SELECT 1 FROM {table} o
            WHERE o.status = 'pending' AND o.api = e.api AND o.feed = (e.payload ->> 'target')
              AND o.id < e.id
              AND o.kind IN ('add', 'update', 'remove')
        )
        AND NOT EXISTS (
            SELECT 1 FROM {table} o
            WHERE o.status = 'pending' AND o.api = e.api AND o.payload ? 'to'
              AND (o.payload -> 'to') ? (e.payload ->> 'target') AND o.id < e.id
              AND o.kind IN ('add', 'update')
        )
    ))
"""
# With FEED_OUTBOX_BLOCK_KEY_ON_DEAD a dead letter also holds its key. A separate clause, not
# `status IN (...)`: each one is answered by its own partial index (pending_key, dead_key).
BLOCKED_BY_DEAD = """
    AND NOT EXISTS (
        SELECT 1 FROM {table} o
        WHERE o.ordering_key = e.ordering_key AND o.id < e.id AND o.status = 'dead'
          AND o.api = e.api
    )
"""

# The claim reads pending rows through two indexes that leave held-back rows out (migration
# 0008): FRESH rows (never leased, no backoff, not parked) in id order, and TIMED rows (leased
# or backed off) by the instant they become claimable, so live leases and backoffs are never
# walked. Rows known to wait for another pending event are parked (park() below) and in
# neither until that event settles. The predicates are written as the indexes' are, so the
# planner can use them.
FRESH = (
    "e.status = 'pending' AND e.parked_behind IS NULL AND e.available_at IS NULL "
    "AND e.lease_expires_at IS NULL"
)
TIMED = (
    "e.status = 'pending' AND e.parked_behind IS NULL "
    "AND (e.available_at IS NOT NULL OR e.lease_expires_at IS NOT NULL) "
    "AND greatest(e.available_at, e.lease_expires_at) <= statement_timestamp()"
)

# One round trip: pick the oldest claimable events (fresh or due), take up to PER_FEED more
# fresh claimable events of each of their feeds (oldest feeds first, so a backlog spread over
# many feeds still goes out as full add_activities batches), lock what nobody else is
# claiming, lease it. The `locked` step re-checks status and lease on the row versions it
# locks, so two relays racing for one row never both lease it.
_CLAIM_TEMPLATE = """
WITH picked AS (
    SELECT p.id, p.feed, p.timed FROM (
        (SELECT e.id, e.feed, false AS timed FROM {table} e
         WHERE {fresh} AND {claimable}
         ORDER BY e.id LIMIT %(limit)s)
        UNION ALL
        -- `+ 0`: found through the timed index by due time, then sorted (few rows are due);
        -- walking a pending index in id order would read every live lease and backoff.
        (SELECT e.id, e.feed, true FROM {table} e
         WHERE {timed} AND {claimable}
         ORDER BY e.id + 0 LIMIT %(limit)s)
    ) p
    ORDER BY p.id
    LIMIT %(limit)s
),
seed AS (
    SELECT feed, min(id) AS first_id FROM picked GROUP BY feed
    -- Feeds in age order: the planner can then stop (incremental sort under the LIMIT)
    -- once the oldest feeds fill the batch, instead of reading every seed feed's events.
    ORDER BY first_id
),
-- MATERIALIZED: computed once. Inlined into `locked`'s IN, it became the inner side of a
-- nested-loop semi join under statistics taken without a backlog (or none yet) and was
-- computed again for every pending row, the incremental sort being unable to rewind: the
-- first claim of 2,000 events on a fresh outbox took 236 s instead of 0.2 s.
candidates AS MATERIALIZED (
    SELECT c.id
    FROM seed
    CROSS JOIN LATERAL (
        (SELECT e.id FROM {table} e
         WHERE e.feed = seed.feed AND {fresh} AND {claimable}
         ORDER BY e.id
         LIMIT %(per_feed)s)
        UNION ALL
        SELECT picked.id FROM picked WHERE picked.feed = seed.feed AND picked.timed
    ) c
    ORDER BY seed.first_id, c.id
    LIMIT %(limit)s
),
locked AS (
    SELECT e.id FROM {table} e
    WHERE e.id IN (SELECT id FROM candidates)
      AND e.status = 'pending'
      AND (e.lease_expires_at IS NULL OR e.lease_expires_at <= statement_timestamp())
    FOR UPDATE SKIP LOCKED
)
UPDATE {table} t
SET lease_owner = %(owner)s,
    lease_token = %(token)s,
    lease_expires_at = statement_timestamp() + make_interval(secs => %(lease_seconds)s),
    attempts = t.attempts + 1
FROM locked
WHERE t.id = locked.id
RETURNING t.id, t.kind, t.feed, t.ordering_key, t.payload, t.attempts, t.api,
          t.created_at, t.traceparent, t.tracestate, t.lease_expires_at
"""


def _claim_sql(block_on_dead: bool) -> str:
    claimable = CLAIMABLE + (BLOCKED_BY_DEAD if block_on_dead else "")
    return (
        _CLAIM_TEMPLATE.replace("{claimable}", f"({claimable})")
        .replace("{fresh}", FRESH)
        .replace("{timed}", TIMED)
        .replace("{table}", TABLE)
    )


CLAIM_POSTGRES = _claim_sql(block_on_dead=False)
CLAIM_POSTGRES_BLOCKING_DEAD = _claim_sql(block_on_dead=True)


# The claim's estimated cost grows with the probes per candidate row and passes
# jit_above_cost (100,000 by default) on a large backlog, though it reads a few hundred rows:
# compiling it then took 120 ms of a 125 ms claim (bench_claim_blocked). Off for the claim's
# own transaction only.
NO_JIT = "SET LOCAL jit = off"


def claim_sql() -> str:
    """The claim statement for the current FEED_OUTBOX_BLOCK_KEY_ON_DEAD setting."""
    if conf.get("FEED_OUTBOX_BLOCK_KEY_ON_DEAD"):
        return CLAIM_POSTGRES_BLOCKING_DEAD
    return CLAIM_POSTGRES


def blocking_statuses() -> list[str]:
    if conf.get("FEED_OUTBOX_BLOCK_KEY_ON_DEAD"):
        return [EventStatus.PENDING.value, EventStatus.DEAD.value]
    return [EventStatus.PENDING.value]


def claim_params(
    owner: str,
    limit: int,
    lease_seconds: float,
    now: datetime.datetime | None = None,
    api: str = "v2",
) -> dict:
    """Parameters of the claim statement. ``now`` and ``expires`` serve the portable claim
    only: on PostgreSQL the statement reads the database's clock."""
    now = now or timezone.now()
    return {
        "now": now,
        "limit": limit,
        "per_feed": PER_FEED,
        "owner": owner,
        "token": uuid.uuid4(),
        "lease_seconds": float(lease_seconds),
        "expires": now + datetime.timedelta(seconds=lease_seconds),
        "api": api,
    }


def claim_batch(
    owner: str, limit: int, lease_seconds: float, using: str = "default", api: str = "v2"
) -> Lease:
    """Lease up to ``limit`` claimable events of ``api`` to ``owner``, at most one per key."""
    params = claim_params(owner, limit, lease_seconds, api=api)
    connection = connections[using]
    expires = params["expires"]
    if connection.vendor == "postgresql":
        started = time.monotonic()
        rows = _claim_rows(connection, using, params)
        _analyze_if_slow(using, time.monotonic() - started)
        if rows:
            expires = rows[0][-1]
        events = tuple(sorted((_event(row[:-1]) for row in rows), key=lambda e: e.id))
    else:
        events = _claim_portable(params, using)
    return Lease(owner=owner, token=params["token"], expires_at=expires, events=events)


# The relay's main thread makes every database round trip while the Stream threads hold the
# GIL for their requests' Python: each round trip costs it a GIL hand-over as well as the
# network, so a claim or a settlement goes in one where the driver allows it.
def sends_scripts(using: str = "default") -> bool:
    """Whether one execute() may carry several statements and return each one's result: with
    psycopg 3's client-side-binding cursor (Django's default) the text goes as one simple
    Query message. psycopg 2 returns only the last statement's result, and server-side binding
    (OPTIONS server_side_binding) refuses more than one statement."""
    connection = connections[using]
    connection.ensure_connection()
    try:
        from psycopg import ClientCursor
    except ImportError:  # psycopg 2
        return False
    factory = getattr(connection.connection, "cursor_factory", None)
    return isinstance(factory, type) and issubclass(factory, ClientCursor)


def transaction_script(
    using: str, statements: Sequence[str], params: dict, scripts: bool | None = None
) -> list[tuple[int, list | None]]:
    """Run ``statements`` (PostgreSQL) as one transaction, each after the one before has
    finished; each one's (rowcount, rows, or None for a statement returning none).

    Outside a caller's transaction, with a driver that ``sends_scripts``, this is one round
    trip: PostgreSQL runs the statements of one simple Query message as one transaction,
    rolled back whole if one fails (docs: "Multiple Statements in a Simple Query", protocol
    flow), and in READ COMMITTED each of them takes its own snapshot, as separate statements
    do. Otherwise an atomic block with one execute per statement (or one script inside the
    caller's transaction). ``scripts``: what ``sends_scripts(using)`` said, if the caller
    asked already."""
    connection = connections[using]
    if scripts is None:
        scripts = sends_scripts(using)
    if scripts and connection.get_autocommit():
        with connection.cursor() as cursor:
            return _script(cursor, statements, params)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if scripts:
            return _script(cursor, statements, params)
        results = []
        for statement in statements:
            cursor.execute(statement, params)
            results.append(_result(cursor))
        return results


def _script(cursor: Any, statements: Sequence[str], params: dict) -> list[tuple[int, list | None]]:
    cursor.execute(";\n".join(statements), params)
    results = [_script_result(cursor)]
    for _ in statements[1:]:
        cursor.nextset()
        results.append(_script_result(cursor))
    return results


def _result(cursor: Any) -> tuple[int, list | None]:
    return cursor.rowcount, (cursor.fetchall() if cursor.description is not None else None)


def _script_result(cursor: Any) -> tuple[int, list | None]:
    """_result for psycopg 3 (a script's driver): whether the statement returned rows is read
    off its result's status, where ``description`` would build a Column object per column
    first (16 µs for the claim's 11, every claim)."""
    try:
        status = cursor.cursor.pgresult.status
    except AttributeError:  # no result, or a wrapper with no psycopg cursor under it
        return _result(cursor)
    return cursor.rowcount, (cursor.fetchall() if status == _TUPLES_OK else None)


try:
    from psycopg.pq import ExecStatus

    _TUPLES_OK: object = ExecStatus.TUPLES_OK
except ImportError:  # psycopg 2: no scripts (sends_scripts)
    _TUPLES_OK = object()


# Planning the claim costs more than running it: of a 4 ms claim of one event, EXPLAIN
# ANALYZE gives 3.0 ms of planning (the CLAIMABLE probes over the partial indexes, three
# times) and 0.8 ms of execution, and that was most of commit-to-feed's 5 ms
# (bench_latency). So each connection prepares the claim once and executes it by name: 1.0
# ms a claim. PostgreSQL replans a prepared statement when the table's statistics change
# (ANALYZE invalidates it) and keeps a generic plan only when it costs no more than the
# custom plans of its first five executions (PostgreSQL docs, PREPARE, "Notes"). What the
# plan depends on (the limits, the API) is written into the statement, one per combination,
# so the generic plan is the custom one: with `LIMIT $1` it guessed the limit, and the first
# claim of a sudden backlog on stale statistics took 0.94 s instead of 0.41 s.
# Only where transaction_script sends scripts (psycopg 3, client-side binding): the PREPARE
# and EXECUTE are then plain text, in the claim's one round trip.
# A transaction pooler (PgBouncer in transaction mode) may run the EXECUTE on a server
# connection that never saw the PREPARE ("prepared statement does not exist"), or the
# PREPARE on one another client prepared ("already exists"): the first of either turns
# prepared claims off for that database alias, and the claim is made again unprepared.
# A statement's name is its text's hash, so a name never stands for another text.
_EXECUTE_PARAMS = ("owner", "token", "lease_seconds")
_EXECUTE_TYPES = "text, uuid, float8"
_POOLED = ("26000", "42P05")  # invalid_sql_statement_name, duplicate_prepared_statement
_prepared_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # psycopg connection: names
_unprepared_aliases: set[str] = set()


@functools.lru_cache(maxsize=64)
def _prepared_statement(sql: str, limit: int, per_feed: int, api: str) -> tuple[str, str]:
    """The claim ``sql`` with these values written in, and its statement's name: made once
    per combination (the text's replacements and hash cost a claim 45 µs)."""
    sql = sql.replace("%(limit)s", str(limit))
    sql = sql.replace("%(per_feed)s", str(per_feed))
    sql = sql.replace("%(api)s", "'" + str(api).replace("'", "''") + "'")
    for number, name in enumerate(_EXECUTE_PARAMS, 1):
        sql = sql.replace(f"%({name})s", f"${number}")
    return sql, "feed_outbox_claim_" + hashlib.sha1(sql.encode()).hexdigest()[:16]


def _claim_rows(connection: Any, using: str, params: dict) -> list:
    if using not in _unprepared_aliases and sends_scripts(using):
        try:
            return _prepared_claim(connection, using, params)
        except ProgrammingError as exc:
            if getattr(exc.__cause__, "sqlstate", None) not in _POOLED:
                raise
            _unprepared_aliases.add(using)
            logger.warning(
                "the prepared claim is not this session's own (%s: a transaction pooler?): "
                "claiming with unprepared statements from now on",
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
            )
    _, (_, rows) = transaction_script(using, [NO_JIT, claim_sql()], params)
    assert rows is not None  # the claim's SELECT returns rows
    return rows


def _prepared_claim(connection: Any, using: str, params: dict) -> list:
    text, name = _prepared_statement(
        claim_sql(), int(params["limit"]), int(params["per_feed"]), params["api"]
    )
    known = _prepared_on.setdefault(connection.connection, set())
    statements = [NO_JIT]
    if name not in known:
        # PREPARE outlives a rollback of its transaction: it belongs to the session.
        statements.append(f"PREPARE {name}({_EXECUTE_TYPES}) AS {text}")
    statements.append(f"EXECUTE {name}(%(owner)s, %(token)s, %(lease_seconds)s)")
    results = transaction_script(using, statements, params, scripts=True)
    known.add(name)
    rows = results[-1][1]
    assert rows is not None  # EXECUTE of the claim returns rows
    return rows


# A claim is a few milliseconds with current statistics. Statistics taken while the table
# held no backlog make the planner scan the pending index once per candidate until autovacuum
# gets round to it: analyze now. A park pass too (9 ms analyzed, 1.5 s a pass on a
# never-analyzed 2,000-event backlog, every relay.maintenance.PARK_EVERY, while the claims
# stayed just under the threshold). Measured (tests/relay/test_claim_statistics.py, a claim
# of 100): 9 ms analyzed, and on such statistics ~45 µs a pending row, 0.15-0.18 s at 3,500
# and 0.45 s at 10,000 (once 0.5 s at 3,500, before the claim's plan improved). At 0.2 s a
# backlog under ~4,000 events was claimed 18x slower than it need be until autovacuum came;
# at 0.1 s that stops at ~2,000, ten times a claim of current statistics. ANALYZE runs at
# most once a minute per relay process, and takes no lock that writers or claims wait for.
SLOW_CLAIM_SECONDS = 0.1
ANALYZE_EVERY_SECONDS = 60.0
_last_analyze: dict[str, float] = {}


def _analyze_if_slow(using: str, elapsed: float, what: str = "claim") -> bool:
    now = time.monotonic()
    if elapsed < SLOW_CLAIM_SECONDS or now - _last_analyze.get(using, -1e9) < ANALYZE_EVERY_SECONDS:
        return False
    _last_analyze[using] = now
    logger.info("%s took %.0f ms: refreshing the outbox table's statistics", what, elapsed * 1000)
    with connections[using].cursor() as cursor:
        cursor.execute(f"ANALYZE {connections[using].ops.quote_name(TABLE)}")
    return True


def _event(row: Sequence) -> Event:
    id_, kind, feed, key, payload, attempts, api, created_at, traceparent, tracestate = row
    if isinstance(payload, (str, bytes)):  # Django's psycopg loader leaves jsonb as text
        payload = json.loads(payload)
    return Event(id_, kind, feed, key, payload, attempts, api, created_at, traceparent, tracestate)


def claimable(using: str, now: datetime.datetime, api: str = "v2") -> QuerySet[OutboxEvent]:
    """The CLAIMABLE predicate as a queryset (SQLite, admin and tests)."""
    rows = OutboxEvent.objects.using(using).filter(api=api)
    older_of_key = rows.filter(
        ordering_key=OuterRef("ordering_key"), id__lt=OuterRef("id"), status__in=blocking_statuses()
    )
    return (
        rows.filter(status=EventStatus.PENDING)
        .filter(Q(available_at__isnull=True) | Q(available_at__lte=now))
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .exclude(Exists(older_of_key))
        .order_by("id")
    )


def _claim_portable(params: dict, using: str) -> tuple[Event, ...]:
    # SQLite has one writer at a time and no SKIP LOCKED: one relay, the same rules. The
    # cross-key rule is checked in Python against the older pending rows (an embedded outbox
    # is small), with the same function the writers' locks are planned with.
    with transaction.atomic(using=using):
        rows: list[OutboxEvent] = []
        for row in claimable(using, params["now"], params["api"]).iterator(
            chunk_size=params["limit"] * 4
        ):
            rows.append(row)
            if len(rows) >= params["limit"] * 4:
                break
        if not rows:
            return ()
        older = (
            OutboxEvent.objects.using(using)
            .filter(status=EventStatus.PENDING, api=params["api"], id__lt=rows[-1].id)
            .only("id", "kind", "feed", "payload")
        )
        blocked = blocked_across_keys(rows, older)
        ids = [row.id for row in rows if row.id not in blocked][: params["limit"]]
        if not ids:
            return ()
        OutboxEvent.objects.using(using).filter(id__in=ids).update(
            lease_owner=params["owner"],
            lease_token=params["token"],
            lease_expires_at=params["expires"],
            attempts=F("attempts") + 1,
        )
        claimed = OutboxEvent.objects.using(using).filter(id__in=ids).order_by("id")
        return tuple(Event.from_row(row) for row in claimed)


def _held(lease: Lease, ids: Iterable[int], using: str) -> QuerySet[OutboxEvent]:
    return OutboxEvent.objects.using(using).filter(
        id__in=list(ids), lease_token=lease.token, status=EventStatus.PENDING
    )


def _at(seconds: float = 0.0) -> Any:
    """The database's clock plus ``seconds``: every relay shares one clock, whatever its host's clock says."""
    if not seconds:
        return Now()
    return ExpressionWrapper(
        Now() + datetime.timedelta(seconds=seconds), output_field=DateTimeField()
    )


def _unleased() -> dict:
    return {"lease_owner": "", "lease_token": None, "lease_expires_at": None}


# mark_delivered() on PostgreSQL: the settlement and the clearing of the parks behind the
# settled events, one transaction in one round trip (transaction_script). UNPARK is a
# statement of its own, after the UPDATE: the UPDATE waits for a park pass's FOR SHARE lock on
# a blocker, and UNPARK's own snapshot then sees the park that pass committed.
MARK_DELIVERED = f"""
UPDATE {TABLE}
SET status = 'delivered', delivered_at = statement_timestamp(), last_error = '',
    attempts = attempts - %(refund)s,
    lease_owner = '', lease_token = NULL, lease_expires_at = NULL
WHERE id = ANY(%(ids)s::bigint[]) AND lease_token = %(token)s AND status = 'pending'
"""
UNPARK = f"""
UPDATE {TABLE} SET parked_behind = NULL
WHERE parked_behind = ANY(%(ids)s::bigint[]) AND status = 'pending'
"""


def mark_delivered(
    lease: Lease, ids: Iterable[int], using: str = "default", refund: bool = False
) -> int:
    """Settle delivered events; returns how many were still held by ``lease``. Events parked
    behind them become claimable in the same transaction. ``refund``: the attempt was a paused
    relay's probe, which is never counted against its event."""
    ids = list(ids)
    if connections[using].vendor == "postgresql":
        params = {"ids": ids, "token": lease.token, "refund": 1 if refund else 0}
        (done, _), _ = transaction_script(using, [MARK_DELIVERED, UNPARK], params)
        return done
    refunded = {"attempts": F("attempts") - 1} if refund else {}
    with transaction.atomic(using=using):
        done = _held(lease, ids, using).update(
            status=EventStatus.DELIVERED,
            delivered_at=_at(),
            last_error="",
            **refunded,
            **_unleased(),
        )
        unpark(ids, using)
    return done


@dataclass(frozen=True)
class Failed:
    """One failed event's settlement: its error and, for a retry, the seconds to wait."""

    id: int
    error: str
    delay_seconds: float = 0.0


# One statement for every retried (or dead) event of a batch, each row with its own error and
# backoff: the rows come in as arrays (unnest) joined to the table, as River's BatchCompleter
# settles a batch's jobs (internal/jobcompleter). RETURNING says which rows were still held,
# so the completer's metrics and logs stay per event.
MARK_RETRY = f"""
UPDATE {TABLE} t
SET available_at = statement_timestamp() + make_interval(secs => f.delay_seconds),
    last_error = f.error, lease_owner = '', lease_token = NULL, lease_expires_at = NULL
FROM unnest(%(ids)s::bigint[], %(errors)s::text[], %(delays)s::double precision[])
     AS f(id, error, delay_seconds)
WHERE t.id = f.id AND t.lease_token = %(token)s AND t.status = 'pending'
RETURNING t.id
"""
MARK_DEAD = f"""
UPDATE {TABLE} t
SET status = 'dead', last_error = f.error,
    lease_owner = '', lease_token = NULL, lease_expires_at = NULL
FROM unnest(%(ids)s::bigint[], %(errors)s::text[]) AS f(id, error)
WHERE t.id = f.id AND t.lease_token = %(token)s AND t.status = 'pending'
RETURNING t.id
"""
# The portable settlement (SQLite) names each row in a CASE: its statement's parameters are
# bounded (SQLite before 3.32 takes 999), so a large batch is settled a chunk at a time.
PORTABLE_CHUNK = 200


def mark_retry(lease: Lease, failed: Sequence[Failed], using: str = "default") -> list[int]:
    """Release events for another try, each after its ``delay_seconds`` and with its error;
    their keys wait meanwhile. Returns the ids still held by ``lease`` (the others were
    fenced). One statement for the batch (PostgreSQL)."""
    if not failed:
        return []
    if connections[using].vendor == "postgresql":
        return _settle_sql(MARK_RETRY, lease, failed, using, delays=True)
    with transaction.atomic(using=using):
        return _settle_portable(
            lease,
            failed,
            using,
            available_at=lambda f: _at(f.delay_seconds),
            last_error=lambda f: Value(f.error),
        )


def mark_dead(lease: Lease, failed: Sequence[Failed], using: str = "default") -> list[int]:
    """Dead-letter events with their errors; later events of their keys may proceed. Returns
    the ids still held by ``lease``.

    The status change and the clearing of the parks behind these events commit together
    (one transaction for the batch's dead, as for its delivered): no committed state leaves
    an event parked behind a blocker that is no longer pending (it would wait for the orphan
    sweep), and park()'s FOR SHARE lock on a blocker is waited for by the UPDATE, so the
    unpark that follows it sees a park committed meanwhile. Metrics and logs are not part of
    the transaction: the completer writes them after it, per event, from the returned ids."""
    if not failed:
        return []
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":
            done = _settle_sql(MARK_DEAD, lease, failed, using, delays=False)
        else:
            done = _settle_portable(
                lease,
                failed,
                using,
                status=lambda f: Value(EventStatus.DEAD.value),
                last_error=lambda f: Value(f.error),
            )
        if done:
            unpark(done, using)
    return done


def _settle_sql(
    statement: str, lease: Lease, failed: Sequence[Failed], using: str, delays: bool
) -> list[int]:
    params: dict[str, Any] = {
        "ids": [f.id for f in failed],
        "errors": [f.error for f in failed],
        "token": lease.token,
    }
    if delays:
        params["delays"] = [float(f.delay_seconds) for f in failed]
    with connections[using].cursor() as cursor:
        cursor.execute(statement, params)
        return sorted(row[0] for row in cursor.fetchall())


def _settle_portable(
    lease: Lease, failed: Sequence[Failed], using: str, **columns: Callable[[Failed], Any]
) -> list[int]:
    """One UPDATE per chunk, each row's value in a CASE on its id; the caller's transaction
    makes the read of the held ids and the write one step (SQLite has one writer)."""
    done: list[int] = []
    for start in range(0, len(failed), PORTABLE_CHUNK):
        chunk = failed[start : start + PORTABLE_CHUNK]
        held = list(_held(lease, [f.id for f in chunk], using).values_list("id", flat=True))
        if not held:
            continue
        kept = set(held)
        rows = [f for f in chunk if f.id in kept]
        values = {
            name: Case(
                *(When(id=f.id, then=value(f)) for f in rows),
                # columns names concrete fields, never a relation's reverse side
                output_field=cast("Field[Any, Any]", OutboxEvent._meta.get_field(name)),
            )
            for name, value in columns.items()
        }
        _held(lease, held, using).update(**values, **_unleased())
        done.extend(held)
    return sorted(done)


def release(lease: Lease, ids: Iterable[int], using: str = "default") -> int:
    """Give events back untouched (shutdown, configuration error); the attempt is refunded."""
    return _held(lease, ids, using).update(attempts=F("attempts") - 1, **_unleased())


def hold(lease: Lease, ids: Iterable[int], seconds: float, using: str = "default") -> int:
    """Refund the attempt of events whose request may still land at Stream and keep them
    leased ``seconds`` more, their backoff untouched: neither they nor the later events of
    their keys are claimed (by any relay) before that request can no longer be applied."""
    return _held(lease, ids, using).update(
        attempts=F("attempts") - 1, lease_expires_at=_at(seconds)
    )


def renew(lease: Lease, lease_seconds: float, using: str = "default") -> int:
    """Extend a lease still held (a long rate-limit wait); 0 means another relay took it."""
    return (
        OutboxEvent.objects.using(using)
        .filter(lease_token=lease.token, status=EventStatus.PENDING)
        .update(lease_expires_at=_at(lease_seconds))
    )


# Parking (PostgreSQL): a FRESH event that waits for an older pending event — its key's, or
# across keys by the rules of CLAIMABLE — records that event's id, the nearest older one of
# each rule, in parked_behind, and leaves the claim's indexes until it is cleared. Safe, as a
# parked event cannot be claimable while its blocker is pending; live, as the blocker's
# settlement clears it (mark_delivered, mark_dead, the admin's "mark dead") and a sweep
# clears any other (a blocker deleted or settled by hand).
#
# The blockers are locked FOR SHARE before the park is written: a relay settling one at the
# same moment either waits for the park to commit and then clears it, or has already changed
# the row, which the lock re-checks (no longer pending: not parked). SKIP LOCKED: a blocker
# being claimed or settled is left for the next pass, so parking never waits on a relay.
PARK = """
WITH scanned AS (
    SELECT e.id, e.api, e.kind, e.feed, e.ordering_key, e.payload FROM {table} e
    WHERE {fresh} AND e.api = %(api)s
    ORDER BY e.id
    LIMIT %(scan)s
),
blockers AS (
    SELECT s.id, COALESCE(
        (SELECT max(o.id) FROM {table} o
         WHERE o.ordering_key = s.ordering_key AND o.id < s.id AND o.status = 'pending'
           AND o.api = s.api),
        CASE WHEN s.kind IN ('add', 'update', 'remove') THEN (
            SELECT max(o.id) FROM {table} o
            WHERE o.status = 'pending' AND o.api = s.api AND o.kind IN ('follow', 'unfollow')
              AND o.id < s.id AND (o.payload ->> 'target') = s.feed
        ) END,
        CASE WHEN s.kind IN ('add', 'update') AND s.payload ? 'to' THEN (
            SELECT max(o.id) FROM {table} o
            WHERE o.status = 'pending' AND o.api = s.api AND o.kind IN ('follow', 'unfollow')
              AND o.id < s.id
              AND (o.payload ->> 'target') IN (SELECT jsonb_array_elements_text(s.payload -> 'to'))
        ) END,
        CASE WHEN s.kind IN ('follow', 'unfollow') THEN greatest(
            (SELECT max(o.id) FROM {table} o
             WHERE o.status = 'pending' AND o.api = s.api AND o.feed = (s.payload ->> 'target')
               AND o.id < s.id AND o.kind IN ('add', 'update', 'remove')),
            (SELECT max(o.id) FROM {table} o
             WHERE o.status = 'pending' AND o.api = s.api AND o.payload ? 'to'
               AND (o.payload -> 'to') ? (s.payload ->> 'target') AND o.id < s.id
               AND o.kind IN ('add', 'update'))
        ) END
    ) AS blocker
    FROM scanned s
),
live AS (
    SELECT b.id FROM {table} b
    WHERE b.id IN (SELECT blocker FROM blockers) AND b.status = 'pending'
    FOR SHARE SKIP LOCKED
)
UPDATE {table} t
SET parked_behind = blockers.blocker
FROM blockers JOIN live ON live.id = blockers.blocker
WHERE t.id = blockers.id AND t.status = 'pending' AND t.parked_behind IS NULL
  AND t.available_at IS NULL AND t.lease_expires_at IS NULL
""".replace("{table}", TABLE).replace("{fresh}", FRESH)

UNPARK_ORPHANS = f"""
UPDATE {TABLE} t SET parked_behind = NULL
WHERE t.id IN (
    SELECT p.id FROM {TABLE} p
    WHERE p.status = 'pending' AND p.parked_behind IS NOT NULL
      AND NOT EXISTS (
          SELECT 1 FROM {TABLE} b WHERE b.id = p.parked_behind AND b.status = 'pending'
      )
    LIMIT %(limit)s
)
"""

PARK_SCAN = 2000  # fresh events a park pass reads from the head of the outbox


def park(using: str = "default", api: str = "v2", scan: int = PARK_SCAN) -> int:
    """Park the blocked events among the oldest ``scan`` fresh ones; how many were parked.
    A no-op off PostgreSQL (the portable claim reads every pending event anyway)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    started = time.monotonic()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(NO_JIT)
        cursor.execute(PARK, {"api": api, "scan": scan})
        parked = cursor.rowcount
    _analyze_if_slow(using, time.monotonic() - started, "park pass")
    return parked


def unpark(blocker_ids: Iterable[int], using: str = "default") -> int:
    """Clear the parks behind ``blocker_ids`` (events that just left pending)."""
    if connections[using].vendor != "postgresql":
        return 0
    return (
        OutboxEvent.objects.using(using)
        .filter(parked_behind__in=list(blocker_ids), status=EventStatus.PENDING)
        .update(parked_behind=None)
    )


def unpark_orphans(using: str = "default", limit: int = 10_000) -> int:
    """Clear parks whose blocker is no longer pending (settled or deleted outside the relay)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(UNPARK_ORPHANS, {"limit": limit})
        return cursor.rowcount


@dataclass(frozen=True)
class PendingStats:
    pending: int
    oldest_created_at: datetime.datetime | None

    def lag_seconds(self, now: datetime.datetime | None = None) -> float:
        if self.oldest_created_at is None:
            return 0.0
        return max(0.0, ((now or timezone.now()) - self.oldest_created_at).total_seconds())


def pending_stats(using: str = "default") -> PendingStats:
    """How many events wait and since when: feed_outbox.operations.status's figure, which outbox_status
    and the admin show too, so the relay's gauges never disagree with them."""
    lag = outbox_lag(using)
    return PendingStats(pending=lag.pending, oldest_created_at=lag.oldest_pending_at)


def explain_claim(
    limit: int = 100, using: str = "default", analyze: bool = True, api: str = "v2"
) -> tuple[str, float]:
    """EXPLAIN the claim statement (rolled back); returns the plan and its top-level cost."""
    params = claim_params("explain", limit, 30.0, api=api)
    options = "ANALYZE, BUFFERS" if analyze else "COSTS"
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(NO_JIT)
        cursor.execute(f"EXPLAIN ({options}) {claim_sql()}", params)
        lines = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True, using=using)
    cost = float(lines[0].split("..", 1)[1].split()[0]) if "cost=" in lines[0] else 0.0
    return "\n".join(lines), cost
