"""The shared call model: a call splits into single calls; the activity Stream receives carries
no write-side instructions."""

from feed_outbox.write.outbox import RECONCILE_KEY
from relay.calls import Call, activity
from relay.events import Event


def event(id_, **payload):
    return Event(id_, "add", "user:1", f"key{id_}", payload or {"foreign_id": f"key{id_}"}, 1)


def test_a_call_splits_into_one_call_per_event_with_its_endpoint_and_bucket():
    call = Call("add_activities", (event(1), event(2)), "add")

    assert call.split() == [
        Call("add_activities", (event(1),), "add"),
        Call("add_activities", (event(2),), "add"),
    ]


def test_the_activity_is_the_payload_without_the_reconcile_instructions():
    payload = {"foreign_id": "f", "to": ["notification:8"], RECONCILE_KEY: {"previous_to": []}}

    assert activity(event(1, **payload)) == {"foreign_id": "f", "to": ["notification:8"]}
