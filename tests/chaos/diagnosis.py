"""When news feeds differ from the commit-order replay: does the order Stream applied the writes
in explain it? The emulator's request log is replayed through the same model; a feed whose
content the log replay predicts exactly was wrong because of the delivery order, not because
the model mis-states Stream.

Only foreign ids are predicted (the log carries no text and no ``to``), which is all news
feeds need: they are filled from user feeds by follows, never by ``to``. A follow row of the
log takes its copy limit (and an unfollow its keep_history) from the key's events, matched in
order the way checker.check_order matches them.
"""

from __future__ import annotations

from collections import defaultdict

from tests.chaos.stream_model import StreamModel


def replay_log(log: list[dict], events: list[tuple]) -> StreamModel:
    """``events``: (id, kind, feed, ordering_key, payload) of the follow keys, any order."""
    by_key: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for _id, kind, _feed, key, payload in sorted(events, key=lambda e: e[0]):
        by_key[key].append((kind, payload))
    position: dict[str, int] = {}
    model = StreamModel()
    for row in log:
        op, feed = row["op"], row.get("feed")
        if op == "add_activity" and row.get("foreign_id"):
            data = {"foreign_id": row["foreign_id"], "time": row["time"], "verb": ""}
            model.add(feed, data, [])
        elif op == "remove_activity" and row.get("foreign_id"):
            model.remove(feed, row["foreign_id"])
        elif op in ("follow", "unfollow"):
            key = f"follow:{feed}>{row['target']}"
            sequence, at = by_key.get(key, []), position.get(key, 0)
            while at < len(sequence) and sequence[at][0] != op:
                at += 1
            position[key] = at
            payload = sequence[at][1] if at < len(sequence) else {}
            if op == "follow":
                model.follow(feed, row["target"], payload.get("activity_copy_limit"))
            else:
                model.unfollow(feed, row["target"], bool(payload.get("keep_history")))
    return model


def explained(log: list[dict], held: dict[str, set[str]], should: dict[str, set[str]]) -> str:
    """``held``/``should``: news feed -> foreign ids Stream has / the commit order gives."""
    from feed_outbox.models import OutboxEvent

    events = list(
        OutboxEvent.objects.filter(aggregate_type="follow").values_list(
            "id", "kind", "feed", "ordering_key", "payload"
        )
    )
    model = replay_log(sorted(log, key=lambda r: (r.get("incarnation", 0), r["seq"])), events)
    differing = [f for f in sorted(set(held) | set(should)) if held.get(f) != should.get(f)]
    matching = [f for f in differing if held.get(f, set()) == set(model.flat(f))]
    unexplained = sorted(set(differing) - set(matching))
    return (
        f"the delivery order (emulator log) explains {len(matching)} of {len(differing)} "
        f"differing news feeds" + (f"; not: {unexplained[:5]}" if unexplained else "")
    )
