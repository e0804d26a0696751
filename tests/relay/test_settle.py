"""The completer's log says why events wait for a retry: once per cause, not once per event."""

import logging

from relay.settle import RetryCauses


def test_each_cause_is_logged_once_then_summed_up_after_the_reminder_interval(caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("relay.settle.time.monotonic", lambda: clock[0])
    causes = RetryCauses(remind_every=300)

    with caplog.at_level(logging.WARNING, logger="relay"):
        for _ in range(50):
            causes.met("ReadTimeout: HTTPConnectionPool(host='h', port=1): Read timed out.")
        causes.met("NotAllowedException code 17 HTTP 403: no")
        clock[0] += 301
        causes.met("ReadTimeout: HTTPConnectionPool(host='h', port=1): Read timed out.")

    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "events wait for a retry: ReadTimeout: h:1: Read timed out.",
        "events wait for a retry: NotAllowedException code 17 HTTP 403: no",
        "events still wait for a retry: ReadTimeout: h:1: Read timed out.",
    ]
    assert "50 more since it was last logged" in caplog.records[-1].getMessage()


def test_causes_remembered_are_bounded():
    causes = RetryCauses(remember=3)
    for n in range(10):
        causes.met(f"ValueError: distinct detail {n}")
    assert len(causes._seen) == 3
