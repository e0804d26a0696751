"""An activity survives save → outbox → relay → Stream → stream-python with every field intact,
and its time to the microsecond."""

from __future__ import annotations

import datetime
import json
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stream import serializer

from feed_outbox.models import OutboxEvent
from tests.factories import UserFactory
from tests.write_app.models import Note

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RESERVED = {"actor", "verb", "object", "foreign_id", "time", "id", "to", "origin", "duration"}
ZONES = ["UTC", "Europe/Paris", "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham"]

# JSON text: no NUL (PostgreSQL's jsonb cannot hold \u0000) and no lone surrogates (not UTF-8).
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(lambda k: k not in RESERVED)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    # jsonb keeps numbers as decimals: a float of 1e16 or more comes back as the integer its
    # shortest repr spells (6.695986678585131e16 → 66959866785851310), another number.
    st.floats(min_value=-1e15, max_value=1e15),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
times = st.datetimes(
    min_value=datetime.datetime(1901, 1, 1),
    max_value=datetime.datetime(2200, 12, 31),
    timezones=st.sampled_from([zoneinfo.ZoneInfo(z) for z in ZONES]),
)


def as_json(value):
    """What a value means on the wire: stream-python turns time-like strings into datetimes."""
    return json.loads(serializer.dumps(value))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extra=st.dictionaries(keys, json_values, max_size=6), posted_at=times)
def test_every_field_and_the_microsecond_survive_the_round_trip(
    stream_emulator, outbox_drain, user_feed_activities, extra, posted_at
):
    user = UserFactory()
    note = Note(user=user, posted_at=posted_at)
    note.extra = extra
    note.save()
    event = OutboxEvent.objects.get(ordering_key=f"write_app.Note:{note.pk}", kind="add")
    assert outbox_drain().dead == 0

    (activity,) = user_feed_activities(f"user:{user.pk}")

    assert activity["time"] == posted_at.astimezone(datetime.UTC)  # to the microsecond
    assert activity["foreign_id"] == f"write_app.Note:{note.pk}"
    assert activity["actor"] == f"auth.User:{user.pk}"
    assert activity["object"] == f"write_app.Note:{note.pk}"
    for key, value in extra.items():
        assert as_json(activity[key]) == as_json(value), key
    # The outbox holds the same thing the feed does.
    assert {k: event.payload[k] for k in extra} == as_json(extra)
