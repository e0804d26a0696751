"""The shared call model: a call splits into single calls, and publishing one isolates the bad
event of a batch; the activity Stream receives carries no write-side instructions."""

import requests

from feed_outbox.write.outbox import RECONCILE_KEY
from relay.calls import Call, activity, publish_call
from relay.events import Event


def event(id_, **payload):
    return Event(id_, "add", "user:1", f"key{id_}", payload or {"foreign_id": f"key{id_}"}, 1)


def test_a_call_splits_into_one_call_per_event_with_its_endpoint_and_bucket():
    call = Call("add_activities", (event(1), event(2)), "add")

    assert call.split() == [
        Call("add_activities", (event(1),), "add"),
        Call("add_activities", (event(2),), "add"),
    ]


def test_a_batch_that_fails_for_one_events_data_is_sent_again_singly():
    sent = []

    def send(call):
        sent.append([e.id for e in call.events])
        if 2 in sent[-1]:
            raise TypeError("bad activity")  # permanent: the event's own data

    outcomes = publish_call(send, Call("add_activities", (event(1), event(2), event(3)), "add"))

    assert [(o.event.id, o.ok) for o in outcomes] == [(1, True), (2, False), (3, True)]
    assert sent == [[1, 2, 3], [1], [2], [3]]


def test_a_batch_that_fails_for_a_retryable_reason_fails_whole():
    sent = []

    def send(call):
        sent.append(call)
        raise requests.ConnectionError("reset")

    outcomes = publish_call(send, Call("add_activities", (event(1), event(2)), "add"))

    assert [o.ok for o in outcomes] == [False, False] and len(sent) == 1


def test_the_activity_is_the_payload_without_the_reconcile_instructions():
    payload = {"foreign_id": "f", "to": ["notification:8"], RECONCILE_KEY: {"previous_to": []}}

    assert activity(event(1, **payload)) == {"foreign_id": "f", "to": ["notification:8"]}
