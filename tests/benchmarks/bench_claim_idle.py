"""A claim that finds nothing: what every relay pays for every commit it is woken for.

Run: python -m tests.benchmarks.bench_claim_idle [--quick] [--json PATH] [--tree PATH ...]
Every commit's NOTIFY wakes every relay and each one claims; with three relays two of them
find nothing (bench_latency's herd), and a single relay's claim of a live event costs the same
plus the row. This times ``relay.queries.claim_batch`` on an empty outbox, back to back and
after 10 ms idle (as between two live events), in a child process per tree (its directory
first on sys.path, its own scratch database from its own migrations), the trees alternated
round by round; each figure is the median of its rounds' medians, and the ratios are each tree
over the first. An A/B against an earlier commit: ``git worktree add ../base <commit>``, then
``--tree ../base --tree .``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks import _harness as h

IDLE_SECONDS = 0.010


def loop(claims: int) -> None:
    """The measured process: claims on an empty outbox, back to back then after idleness;
    prints their medians in milliseconds as JSON."""
    sys.path.insert(0, os.getcwd())  # the tree under test, not this file's
    import django

    django.setup()
    from django.db import connection

    try:
        from relay import queries
    except ImportError:  # before the relay's modules were split (4cd491e): relay.claim
        from relay import claim as queries

    settings = connection.settings_dict
    settings["TEST"] = {**settings.get("TEST", {}), "NAME": f"{settings['NAME']}_claim_idle"}
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        for _ in range(200):  # prepares the claim, warms the caches
            queries.claim_batch("bench", 100, 30.0)
        back_to_back, after_idle = [], []
        for _ in range(claims):
            started = time.perf_counter()
            lease = queries.claim_batch("bench", 100, 30.0)
            back_to_back.append(time.perf_counter() - started)
            assert not lease.events
        for _ in range(claims // 4):
            time.sleep(IDLE_SECONDS)
            started = time.perf_counter()
            queries.claim_batch("bench", 100, 30.0)
            after_idle.append(time.perf_counter() - started)
        print(
            json.dumps(
                {
                    "back to back": statistics.median(back_to_back) * 1000,
                    "after 10 ms idle": statistics.median(after_idle) * 1000,
                    "file": queries.__file__,
                }
            )
        )
    finally:
        connection.creation.destroy_test_db(settings["NAME"], verbosity=0)


def measure(tree: Path, claims: int, database_url: str) -> dict:
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--loop", "--claims", str(claims)],
        cwd=tree,
        env=h.tree_env(tree, database_url),
        capture_output=True,
        text=True,
    )
    if child.returncode:
        raise RuntimeError(f"the claims in {tree} failed:\n{child.stderr[-2000:]}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    if not Path(result.pop("file")).resolve().is_relative_to(tree):
        raise RuntimeError(f"the child measured another tree's relay, not {tree}'s")
    return result


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--tree", action="append", type=Path, help="a checkout (default: this)")
    p.add_argument("--rounds", type=int, help="rounds, trees alternated (default 5; --quick 3)")
    p.add_argument("--claims", type=int, default=2000, help="claims back to back a round")
    p.add_argument("--loop", action="store_true", help="internal: the measured child")
    args = p.parse_args()
    if args.loop:
        loop(args.claims)
        return
    trees = [tree.resolve() for tree in args.tree or [h.ROOT]]
    rounds = args.rounds or (3 if args.quick else 5)
    claims = 1000 if args.quick else args.claims
    database_url = h.database_url("claim_idle")
    runs: dict[Path, list[dict]] = {tree: [] for tree in trees}
    for _ in range(rounds):
        for tree in trees:
            runs[tree].append(measure(tree, claims, database_url))

    def label(tree: Path) -> str:
        return f"{tree.name} {h.commit_of(tree)}" if len(trees) > 1 else "empty claim"

    figures: dict[str, dict] = {}
    ratios: dict[str, dict] = {}
    for mode in ("back to back", "after 10 ms idle"):
        first = statistics.median(run[mode] for run in runs[trees[0]])
        for tree in trees:
            figures[f"{label(tree)}, {mode}"] = h.summary([run[mode] for run in runs[tree]], "ms")
            if tree is not trees[0]:
                median = statistics.median(run[mode] for run in runs[tree])
                ratios[f"{label(tree)} / {label(trees[0])}, {mode}"] = {
                    "value": median / first,
                    "unit": "×",
                }
    h.emit(
        {
            "title": f"A claim that finds nothing (relay.queries.claim_batch), {claims:,} a round",
            "figures": figures,
            "ratios": ratios,
            "notes": [f"{rounds} rounds, trees alternated; medians of each round's median"],
        },
        args.json,
    )


if __name__ == "__main__":
    main()
