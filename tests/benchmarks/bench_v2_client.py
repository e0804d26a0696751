"""The relay's stream-python client: CPU per request, lean (relay.delivery.v2_session) against
a plain stream-python client, interleaved.

Run: python -m tests.benchmarks.bench_v2_client [--quick] [--json PATH] [--requests N]
Both clients are built as the relay builds its own (relay.delivery.v2 V2Delivery), the plain
one without ``make_lean``, and send the relay's own requests (call_stream) to the emulator:
an add of one activity (an idle outbox, or each activity to its own feed), an add of ten and
a follow_many; and the add of one again with 10 ms of idleness before each request, as
between two live events. The figure is this process's CPU (``time.process_time``) per
request; the variants alternate in blocks of N requests, so the machine's drift falls on both.
"""

from __future__ import annotations

import os
import time

from tests.benchmarks import _harness as h

SHAPES = ("add of 1", "add of 10", "follow_many of 10")


def calls(shape: str, n: int):
    from relay.delivery.v2 import plan_calls
    from relay.events import Event

    def add(i: int, feed: str) -> Event:
        activity = {
            "actor": "user:1",
            "verb": "tweet",
            "object": f"bench.Item:{i}",
            "foreign_id": f"bench.Item:{i}",
            "time": "2026-12-06T12:00:00.123456",
            "text": "a tweet of an ordinary length, with a few words in it",
        }
        return Event(i, "add", feed, f"bench.Item:{i}", activity, 1)

    if shape == "add of 1":
        return plan_calls([add(i, f"user:{i % 50}") for i in range(n)])
    if shape == "add of 10":
        return plan_calls([add(i, f"user:{i // 10}") for i in range(n * 10)])
    follows = [
        Event(i, "follow", f"timeline:{i}", f"follow:{i}", {"target": f"user:{i // 10}"}, 1)
        for i in range(n * 10)
    ]
    return plan_calls(follows)


def measure(base_url: str, per_block: int, blocks: int) -> dict[str, dict[str, list[float]]]:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="sample_app.settings",
        STREAM_API_KEY=h.API_KEY,
        STREAM_API_SECRET=h.API_SECRET,
        STREAM_BASE_URL=base_url,
    )
    import django

    django.setup()
    from relay.delivery import v2
    from relay.delivery.v2_session import make_lean

    lean = v2.V2Delivery().build_client()
    v2.make_lean = lambda client: None  # the plain client: built the same, without it
    try:
        plain = v2.V2Delivery().build_client()
    finally:
        v2.make_lean = make_lean
    for client in (lean, plain):
        v2._resolve_environment_once(client, client.session)  # as the pool does
    results: dict[str, dict[str, list[float]]] = {}
    for shape in SHAPES:
        planned = calls(shape, per_block)
        cpu: dict[str, list[float]] = {"lean": [], "plain": []}
        for client in (lean, plain):  # warm-up: connections, tokens
            for call in planned[:20]:
                v2.call_stream(client, call, lambda bucket: None)
        for block in range(blocks):
            order = (("lean", lean), ("plain", plain))
            for name, client in order if block % 2 else reversed(order):
                started = time.process_time()
                for call in planned:
                    v2.call_stream(client, call, lambda bucket: None)
                cpu[name].append((time.process_time() - started) * 1000 / len(planned))
        results[shape] = cpu
    # The same add of one activity after 10 ms of idleness, as a relay sends it between two
    # live events (bench_latency's idle case): on a virtual machine a burst after a pause
    # costs more CPU than the same work back to back (caches and the host's scheduling).
    planned = calls("add of 1", per_block // 4)
    idle: dict[str, list[float]] = {"lean": [], "plain": []}
    for block in range(blocks):
        order = (("lean", lean), ("plain", plain))
        for name, client in order if block % 2 else reversed(order):
            spent = 0.0
            for call in planned:
                time.sleep(0.01)
                started = time.process_time()
                v2.call_stream(client, call, lambda bucket: None)
                spent += time.process_time() - started
            idle[name].append(spent * 1000 / len(planned))
    results["add of 1 after 10 ms idle"] = idle
    return results


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--requests", type=int, default=500, help="requests a block (--quick: 200)")
    args = p.parse_args()
    per_block = 200 if args.quick else args.requests
    blocks = 6 if args.quick else 10
    with h.emulator() as base_url:
        results = measure(base_url, per_block, blocks)
    figures, ratios = {}, {}
    for shape, cpu in results.items():
        for name in ("plain", "lean"):
            figures[f"{shape}: {name} client, CPU a request"] = h.summary(cpu[name], "ms")
        ratios[f"{shape}: lean / plain CPU"] = h.summary(
            [lean / plain for lean, plain in zip(cpu["lean"], cpu["plain"], strict=True)],
            "x",
            {"op": "<", "value": 1.0},
        )
    h.emit(
        {
            "title": "The relay's stream-python client, CPU per request (lean vs plain)",
            "figures": figures,
            "ratios": ratios,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
