"""Building outbox events from activities and follows, and writing them in the caller's transaction."""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import logging
import operator
from collections.abc import Iterable, Iterator, Mapping
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, router, transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from feed_outbox import conf
from feed_outbox.activity import Activity, feed_id, model_content_type
from feed_outbox.exceptions import ActivityDataError, OutboxNotMigrated
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.write.causality import lock_plan
from feed_outbox.write.payload import format_activity_time, json_safe, payload_json
from feed_outbox.write.tracing import current_trace_context

logger = logging.getLogger("feed_outbox")

#: Key of an update payload whose ``to`` targets may have changed (absent when they did not):
#: ``{"previous_to": [feed ids] | None}`` (None: unknown). The relay strips it before sending
#: and sets the targets to ``payload.get("to", [])`` (update_activity_to_targets, new_targets).
RECONCILE_KEY = "_outbox"

#: Rows per INSERT statement: bulk writes larger than this take one statement per chunk.
MAX_ROWS_PER_INSERT = 1000

# Buffers of events per database alias while a batch() block is open (per thread/task).
_buffers: contextvars.ContextVar[Mapping[str, list[OutboxEvent]]] = contextvars.ContextVar(
    "feed_outbox_batch", default=MappingProxyType({})
)


# Values JSON holds as they are (most activity fields): kept without a call.
# Values stored as they are; text still goes through json_safe (NUL and surrogate checks).
_PLAIN = frozenset({int, bool, type(None)})


def activity_payload(instance: Activity) -> dict[str, Any]:
    """The activity as JSON with its time frozen now; raises ActivityDataError on bad data."""
    return _activity_payload(instance)[0]


def _activity_payload(instance: Activity) -> tuple[dict[str, Any], str]:
    """activity_payload's payload and its JSON text (serialised once: the size check's text
    is the one the INSERT sends)."""
    label = model_content_type(type(instance))
    activity = instance.create_activity()
    time = activity["time"]
    if not isinstance(time, datetime.datetime):
        raise ActivityDataError(
            f"{label}: activity_time is {time!r}; the outbox freezes the time of every "
            "activity, so it must be a datetime"
        )
    payload = {
        key: value
        if type(value) in _PLAIN
        else format_activity_time(value)
        if key == "time"
        else json_safe(value, model=label, field=key)
        for key, value in activity.items()
    }
    text = payload_json(payload)
    size = len(text)  # bytes: the text is ASCII
    limit = conf.get("FEED_OUTBOX_MAX_ACTIVITY_BYTES")
    if size > limit:
        raise ActivityDataError(
            f"{label}: the activity for {payload['foreign_id']} is {size} bytes, over "
            f"FEED_OUTBOX_MAX_ACTIVITY_BYTES ({limit}); store less in extra_activity_data"
        )
    if size > conf.get("FEED_OUTBOX_WARN_ACTIVITY_BYTES"):
        logger.warning(
            "%s: the activity for %s is %d bytes; Stream advises keeping activities under 1 KB",
            label,
            payload["foreign_id"],
            size,
        )
    return payload, text


def activity_events(
    instance: Activity, kind: EventKind, previous_to: list[str] | None = None
) -> list[OutboxEvent]:
    """Unsaved events for ``instance``: add, update or remove, one per feed it is published to.

    An update whose ``to`` targets may differ from the last publication's carries RECONCILE_KEY,
    so the relay drops the copies no longer listed and adds the new ones.
    """
    label = model_content_type(type(instance))
    text: str | None = None
    if kind == EventKind.REMOVE:
        foreign_id = instance.activity_foreign_id
        payload: dict[str, Any] = {"foreign_id": foreign_id}
    else:
        payload, text = _activity_payload(instance)
        foreign_id = payload["foreign_id"]
        if kind == EventKind.UPDATE and (
            previous_to is None or sorted(previous_to) != sorted(payload.get("to", ()))
        ):
            payload[RECONCILE_KEY] = {"previous_to": previous_to}
            text = None  # the stored text has the key: serialised again when written
    if not isinstance(foreign_id, str) or not foreign_id:
        raise ActivityDataError(f"{label}: activity_foreign_id is {foreign_id!r}, not a string")
    return [
        new_event(kind, feed_id(feed), foreign_id, label, payload, text)
        for feed in instance.activity_feeds()
    ]


def activity_event(instance: Activity, kind: EventKind) -> OutboxEvent:
    """The event for ``instance``'s first feed (the author feed unless activity_feeds says else)."""
    return activity_events(instance, kind)[0]


def follow_event(source: str, target: str, kind: EventKind, **options: Any) -> OutboxEvent:
    """An unsaved follow/unfollow event of feed ``source`` (``slug:id``) on feed ``target``."""
    if kind not in (EventKind.FOLLOW, EventKind.UNFOLLOW):
        raise ValueError(f"follow_event takes follow or unfollow, not {kind!r}")
    for name, value in (("source", source), ("target", target)):
        if not isinstance(value, str) or value.count(":") != 1:
            raise ActivityDataError(f"{name} feed {value!r} is not a feed id like 'user:42'")
    return OutboxEvent(
        kind=kind,
        feed=source,
        ordering_key=f"follow:{source}>{target}",
        aggregate_type="follow",
        payload={"target": target, **options},
    )


def enqueue(
    events: Iterable[OutboxEvent],
    using: str | None = None,
    apis: tuple[str, ...] | None = None,
) -> list[OutboxEvent]:
    """Write events in one INSERT on ``using`` (default: the outbox's write database), one row
    per Stream API of ``apis`` (default: FEED_OUTBOX_STREAM_API).

    Inside ``batch(using)`` the events are kept and written together when the block ends
    (unless ``apis`` is given: the migration commands' rows for one API are written at once).
    """
    events = list(events)
    if not events:
        return events
    trace = current_trace_context()
    if trace is not None:  # the request's span: the relay's Stream call links back to it
        for event in events:
            event.traceparent, event.tracestate = trace
    using = using or router.db_for_write(OutboxEvent)
    pending = _buffers.get().get(using)
    if pending is not None and apis is None:
        pending.extend(events)
        return events
    return _write(events, using, apis)


def for_apis(events: list[OutboxEvent], apis: tuple[str, ...]) -> list[OutboxEvent]:
    """``events`` once per API: the given rows for the first, copies for the others.

    All of one API's rows come before the next API's: within an API they stay in the
    caller's order, which is the order the claim applies one key's events in.
    """
    if apis == ("v2",) and all(event.api == "v2" for event in events):
        return events  # the default: today's rows, untouched
    rows: list[OutboxEvent] = []
    for index, api in enumerate(apis):
        for event in events:
            if index:
                event = new_event(
                    event.kind, event.feed, event.ordering_key, event.aggregate_type,
                    event.payload,
                )
            event.api = api
            rows.append(event)
    return rows


@contextlib.contextmanager
def batch(using: str | None = None) -> Iterator[None]:
    """A transaction on ``using`` whose outbox events are written in one INSERT at its end.

    Events for other databases are written at once, in their own database's transaction.
    """
    using = using or DEFAULT_DB_ALIAS
    buffers = _buffers.get()
    with transaction.atomic(using=using):
        if using in buffers:  # nested: the outer block writes
            yield
            return
        pending: list[OutboxEvent] = []
        token = _buffers.set({**buffers, using: pending})
        try:
            yield
        finally:
            _buffers.reset(token)
        _write(pending, using)


def new_event(
    kind: str,
    feed: str,
    ordering_key: str,
    aggregate_type: str,
    payload: dict[str, Any],
    payload_text: str | None = None,
) -> OutboxEvent:
    """An unsaved OutboxEvent; ``payload_text``: ``payload``'s JSON when already serialised.

    Without pre_init/post_init receivers for OutboxEvent (feed-outbox and Django connect none;
    an app may), the event is built as Model.__init__ would with positional values, minus the
    signals and the per-field loop: ~6 µs a save.
    """
    constants, calls = _defaults()
    values = {
        **constants,
        "kind": kind,
        "feed": feed,
        "ordering_key": ordering_key,
        "aggregate_type": aggregate_type,
        "payload": payload,
    }
    for name, default in calls:
        values[name] = default()
    if pre_init.has_listeners(OutboxEvent) or post_init.has_listeners(OutboxEvent):
        # django-stubs' plugin reads a star argument as the first field's (id's) value.
        event = OutboxEvent(*[values[name] for name in _attnames()])  # type: ignore[misc]
    else:
        event = _new_instance(OutboxEvent)
        values["_state"] = ModelState()
        event.__dict__.update(values)
    if payload_text is not None:
        event.__dict__[_PAYLOAD_TEXT] = (payload, payload_text)
    return event


_new_instance = object.__new__

#: Instance attribute holding ``(payload, its JSON text)``: the INSERT sends the text while
#: ``event.payload`` is still that same dict (an event whose payload was replaced is serialised
#: again; nothing in feed-outbox changes a payload in place once its event is built).
_PAYLOAD_TEXT = "_feed_outbox_payload_text"


@cache
def _attnames() -> tuple[str, ...]:
    return tuple(name for name, _, _ in _field_defaults())


@cache
def _defaults() -> tuple[dict[str, Any], tuple[tuple[str, Any], ...]]:
    """Every field's value when not given: the constant ones (shared, as Model.__init__
    shares them) and the callables to call per event (created_at's timezone.now)."""
    constants = {name: default for name, call, default in _field_defaults() if not call}
    calls = tuple((name, default) for name, call, default in _field_defaults() if call)
    return constants, calls


@cache
def _field_defaults() -> tuple[tuple[str, bool, Any], ...]:
    plan = []
    for field in OutboxEvent._meta.concrete_fields:
        call = callable(field.default) and field.has_default()
        plan.append((field.attname, call, field.default if call else field.get_default()))
    return tuple(plan)


def not_migrated(exc: BaseException, using: str) -> OutboxNotMigrated | None:
    """The error to raise instead of ``exc`` when it says the outbox table (or a column of it)
    does not exist, i.e. ``migrate`` was not run; None for any other error."""
    table = OutboxEvent._meta.db_table
    text = str(exc).strip()
    if table not in text or not ("does not exist" in text or "no such table" in text):
        return None
    return OutboxNotMigrated(
        f"The outbox table {table} is missing or not migrated in database {using!r} "
        f"({text.splitlines()[0]}): run `python manage.py migrate`."
    )


def _write(
    events: list[OutboxEvent], using: str, apis: tuple[str, ...] | None = None
) -> list[OutboxEvent]:
    try:
        return _insert(events, using, apis)
    except DatabaseError as exc:
        error = not_migrated(exc, using)
        if error is None:
            raise
        raise error from exc


def _insert(
    events: list[OutboxEvent], using: str, apis: tuple[str, ...] | None = None
) -> list[OutboxEvent]:
    """One INSERT of ``events`` (one row per API of ``apis``, default FEED_OUTBOX_STREAM_API)
    on ``using``; the given events come back saved, with their ids (their first API's rows).

    On PostgreSQL this skips the ORM's compiler (the SQL is built once per shape) and prepares
    only the values that need it: most of the Python cost of an outbox row. The same statement
    first takes the transaction-scoped advisory locks of feed_outbox.write.causality, so an
    event that must follow a concurrent writer's event also gets a later id.
    """
    if not events:
        return events
    given = events
    events = for_apis(events, apis or conf.stream_apis())
    check_lengths(events)
    connection = connections[using]
    if connection.vendor != "postgresql":
        # SQLite writes one transaction at a time: ids are in commit order already.
        OutboxEvent.objects.using(using).bulk_create(events)
        return given
    rows = []
    with connection.cursor() as cursor:
        for start in range(0, len(events), MAX_ROWS_PER_INSERT):
            chunk = events[start : start + MAX_ROWS_PER_INSERT]
            flags = _params(chunk)
            # The locks of the whole write go with its first statement: taken in one order.
            locks = lock_plan(events) if start == 0 else []
            lock_kinds = tuple(exclusive for _, exclusive in locks)
            kinds: tuple[bool, ...] | None = lock_kinds
            if len(locks) > INLINE_LOCKS:
                params: list[Any] = [[feed for feed, _ in locks], list(lock_kinds)]
                kinds = None  # the arrays' form: one SQL text whatever the number of locks
            else:
                params = [feed for feed, _ in locks]
            values, payload_at, prepared = _row_values(flags)
            for event in chunk:
                row = list(values(event))
                row[payload_at] = _payload_param(event)
                for index, field in prepared:
                    row[index] = field.get_db_prep_save(row[index], connection)
                params += row
            cursor.execute(_insert_sql(connection, len(chunk), kinds, flags), params)
            rows += cursor.fetchall()
    for event, (pk,) in zip(events, rows, strict=True):
        event.pk = pk
        event._state.adding = False
        event._state.db = using
    return given


def _payload_param(event: OutboxEvent) -> str:
    """The payload's JSON text (sent with a ::jsonb cast): the text serialised when the event
    was built if its payload is still that dict, else serialised now. Cheaper than Django's
    Jsonb wrapper, which psycopg would serialise and then quote (~7 µs a save)."""
    payload = event.payload
    built = event.__dict__.get(_PAYLOAD_TEXT)
    if built is not None and built[0] is payload:
        return built[1]
    return payload_json(payload)


@cache
def _row_values(params: tuple[bool, ...]) -> tuple[Any, int, tuple[tuple[int, models.Field], ...]]:
    """For ``_plan(params)``'s parameter columns: a function giving an event's values as a
    tuple, the payload's index in it, and the columns whose value needs get_db_prep_save."""
    columns = [(field, prepare) for field, prepare, literal in _plan(params) if literal is None]
    fields = [field for field, _ in columns]
    getter = operator.attrgetter(*[field.attname for field in fields])
    payload_field = _payload_field()
    prepared = tuple(
        (index, field)
        for index, (field, prepare) in enumerate(columns)
        if prepare and field is not payload_field
    )
    return getter, fields.index(payload_field), prepared


@cache
def _payload_field() -> models.Field:
    return OutboxEvent._meta.get_field("payload")


#: Where a text column's value of an activity event comes from, for check_lengths' error.
_SOURCES = {
    "feed": "activity_feeds() gives the feed",
    "ordering_key": "activity_foreign_id is",
    "aggregate_type": "the model's label is",
}
_FOLLOW_SOURCES = {
    "feed": "the following (source) feed is",
    "ordering_key": "the follow's key follow:<source>><target> is",
    "aggregate_type": "aggregate_type is",
}


@cache
def _length_limits() -> tuple[tuple[str, int], ...]:
    """``(attname, max_length)`` of the text columns filled from application data."""
    limits = []
    for name in ("feed", "ordering_key", "aggregate_type"):
        field = OutboxEvent._meta.get_field(name)
        assert isinstance(field, models.CharField) and field.max_length is not None
        limits.append((name, field.max_length))
    return tuple(limits)


def check_lengths(events: list[OutboxEvent]) -> None:
    """Raise ActivityDataError for a value longer than its column: PostgreSQL would refuse
    the row with a bare DataError (and the INSERT before it cast to varchar(n), silently
    truncating a feed id: a write to the wrong feed); SQLite would store it whole. A len()
    per column, the same on every database."""
    limits = _length_limits()
    for event in events:
        for name, limit in limits:
            value = event.__dict__[name]
            if type(value) is str and len(value) > limit:
                follow = event.kind in (EventKind.FOLLOW, EventKind.UNFOLLOW)
                source = (_FOLLOW_SOURCES if follow else _SOURCES)[name]
                model = "follow" if follow else event.aggregate_type[:limit]
                raise ActivityDataError(
                    f"{model}: {source} {len(value)} characters long, over the outbox's "
                    f"limit of {limit} for {name} ({value[:40]!r}...); the event was not written"
                )


#: First key of feed-outbox's two-key advisory locks (the second is hashtext(feed)), so they
#: never meet an application's own one-key locks. crc32("feed_outbox") as a signed int4.
LOCK_NAMESPACE = -1_463_442_044

# Lock before the rows get their ids: the first row's id is
# ``CASE WHEN <take the locks> THEN nextval(<the id sequence>) END``, which PostgreSQL
# evaluates condition first, so every lock of the write is held before its first id is drawn
# (the later rows take theirs, DEFAULT, after). Each lock is taken once per statement. Up to
# INLINE_LOCKS locks are named one parameter each; more go in two array parameters, so a write
# touching many feeds does not make one SQL text per count. The INSERT's VALUES are the rows
# themselves (no subquery): each value takes its column's type, the statement parses and plans
# at its cheapest, and columns that are NULL in every row and NULL by default are left out.
# (The earlier INSERT ... SELECT * FROM (VALUES ...) WHERE <locks>, every column cast, cost a
# one-row write 70-90 µs more, measured as transactions of psycopg in a loop.) Activity
# events lock their feeds shared (they commute), follows the followed feed exclusively.
INLINE_LOCKS = 16  # locks up to which a write names each lock in its SQL

_LOCK_FUNCTIONS = {True: "pg_advisory_xact_lock", False: "pg_advisory_xact_lock_shared"}

_LOCKS = f"""(
    SELECT count(
        CASE WHEN l.exclusive
            THEN pg_advisory_xact_lock({LOCK_NAMESPACE}, hashtext(l.feed))
            ELSE pg_advisory_xact_lock_shared({LOCK_NAMESPACE}, hashtext(l.feed))
        END
    )
    FROM unnest(%s::text[], %s::boolean[]) AS l(feed, exclusive)
) >= 0"""


def _lock_condition(kinds: tuple[bool, ...] | None) -> str:
    """A condition taking the write's advisory locks: one call per exclusive flag of ``kinds``
    (one feed parameter each), or for None the scalar subquery over two array parameters."""
    if kinds is None:
        return _LOCKS
    calls = " || ".join(
        f"{_LOCK_FUNCTIONS[exclusive]}({LOCK_NAMESPACE}, hashtext(%s::text))::text"
        for exclusive in kinds
    )
    return f"({calls}) = ''"


# Field classes (exactly these: a subclass may prepare values) whose Python values psycopg
# sends as they are on PostgreSQL, aware datetimes included.
_PASSTHROUGH = frozenset(
    {
        models.CharField,
        models.TextField,
        models.IntegerField,
        models.PositiveIntegerField,
        models.BigIntegerField,
        models.DateTimeField,
        models.UUIDField,
        models.BooleanField,
    }
)

# A column written: its field, whether its value needs get_db_prep_save, and the SQL literal
# written instead of a parameter (None: a parameter per row).
Plan = tuple[tuple[models.Field, bool, str | None], ...]


def _literal(value: Any) -> str | None:
    """``value`` as SQL text when it is a plain constant (text or a whole number), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    if isinstance(value, int):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


@cache
def _columns() -> tuple[tuple[tuple[models.Field, bool], ...], Plan]:
    """The columns every row writes as a parameter, and the flagged ones whose rows decide:
    a nullable column without a database default (the relay's columns, trace context) is left
    out when NULL in every row; a column with a constant default (status, attempts, ...) is
    written as that literal when every row has it. A save's row then sends 6 values, not 18:
    each parameter costs psycopg's quoting and the server's parse."""
    always: list[tuple[models.Field, bool]] = []
    flagged: list[tuple[models.Field, bool, str | None]] = []
    for field in OutboxEvent._meta.concrete_fields:
        if field is OutboxEvent._meta.pk:
            continue
        prepare = type(field) not in _PASSTHROUGH
        if field.null and field.db_default is models.NOT_PROVIDED:
            flagged.append((field, prepare, None))
            continue
        literal = None if callable(field.default) else _literal(field.default)
        if literal is not None and field.has_default():
            flagged.append((field, prepare, literal))
        else:
            always.append((field, prepare))
    return tuple(always), tuple(flagged)


@cache
def _plan(params: tuple[bool, ...]) -> Plan:
    """The columns written: every row's, then each flagged column as a parameter where
    ``params`` says so, else as its default's literal (or left out: NULL)."""
    always, flagged = _columns()
    plan: list[tuple[models.Field, bool, str | None]] = [(f, p, None) for f, p in always]
    for (field, prepare, literal), param in zip(flagged, params, strict=True):
        if param:
            plan.append((field, prepare, None))
        elif literal is not None:
            plan.append((field, prepare, literal))
    return tuple(plan)


def _params(chunk: list[OutboxEvent]) -> tuple[bool, ...]:
    """Per flagged column, whether ``chunk``'s rows need a parameter for it: some row is not
    NULL (a nullable column), or not the default (a constant one). A tuple of flags, not of
    fields, so that the caches' keys hash without calling Field.__hash__."""
    values = _flagged_values()
    unsent = _unsent()
    if len(chunk) == 1:  # a save's event: one pass, no generator per column
        return tuple([value != default for value, default in zip(values(chunk[0]), unsent, strict=True)])
    rows = [values(event) for event in chunk]
    return tuple(
        [any(row[i] != default for row in rows) for i, default in enumerate(unsent)]
    )


@cache
def _unsent() -> tuple[Any, ...]:
    """Per flagged column, the value its rows need no parameter for (None, or the default)."""
    return tuple(None if literal is None else field.default for field, _, literal in _columns()[1])


@cache
def _flagged_values() -> Any:
    """A function giving an event's values of the flagged columns, as a tuple."""
    names = [field.attname for field, _, _ in _columns()[1]]
    getter = operator.attrgetter(*names)
    return getter if len(names) > 1 else lambda event: (getter(event),)


@lru_cache(maxsize=256)
def _insert_sql(
    connection: Any, rows: int, kinds: tuple[bool, ...] | None, params: tuple[bool, ...]
) -> str:
    """The INSERT of ``rows`` rows of ``_plan(params)``'s columns, taking the locks of
    ``kinds`` (see _lock_condition; no locks: an empty tuple) before the first id."""
    plan = _plan(params)
    quote = connection.ops.quote_name
    table = OutboxEvent._meta.db_table
    pk = OutboxEvent._meta.pk.column
    columns = [quote(field.column) for field, _, _ in plan]
    payload_field = _payload_field()
    values = ", ".join(
        ("%s::jsonb" if field is payload_field else "%s") if literal is None else literal
        for field, _, literal in plan
    )
    if kinds == ():
        tuples = [f"({values})"] * rows
    else:
        sequence = f"pg_get_serial_sequence('{quote(table)}', '{pk}')"
        first_id = f"CASE WHEN {_lock_condition(kinds)} THEN nextval({sequence}) END"
        columns.insert(0, quote(pk))
        tuples = [f"({first_id}, {values})"] + [f"(DEFAULT, {values})"] * (rows - 1)
    return (
        f"INSERT INTO {quote(table)} ({', '.join(columns)}) VALUES {', '.join(tuples)} "
        f"RETURNING {quote(pk)}"
    )


def db_alias_for(instance: models.Model | Activity, using: str | None = None) -> str:
    model = cast(models.Model, instance)  # an Activity is always mixed into a model
    return using or model._state.db or router.db_for_write(type(model), instance=model)
