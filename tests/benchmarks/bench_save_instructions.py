"""Save path in instructions: what one ``Tweet.objects.create()`` costs the saving process, counted
by valgrind's callgrind (repeatable whatever else the machine runs, unlike a clock), tracking
off and through the outbox, for this tree and any other checkout given with ``--tree``.

Run: python -m tests.benchmarks.bench_save_instructions [--saves 200] [--tree PATH ...]
An A/B against an earlier commit: ``git worktree add ../base <commit>``, then
``--tree ../base --tree .`` (the first tree is the reference of the printed ratios). Each tree's
code runs in its own process (its directory first on sys.path) on a scratch PostgreSQL
database; counting is switched on only around the measured saves (``callgrind_control``), so
start-up and warm-up are not counted. What PostgreSQL's server does is not counted either: the
figure is the Python side of a save, which is where feed-outbox's own cost lies.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks import _harness as h

ROOT = Path(__file__).resolve().parents[2]
MODES = ("untracked", "tracked")


def measure(tree: Path, mode: str, saves: int, database_url: str) -> int:
    """Instructions of ``saves`` saves in ``mode``, with ``tree``'s code."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "callgrind.out")
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(Path(__file__).resolve()),
                "--loop",
                mode,
                "--saves",
                str(saves),
            ],
            cwd=tree,
            env=h.tree_env(tree, database_url),
            check=True,
            capture_output=True,
        )
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.M)
        if totals is None:
            raise RuntimeError(f"callgrind wrote no totals for {tree} ({mode})")
        return int(totals.group(1))


def loop(mode: str, saves: int) -> None:
    """The measured process: warm up, then count ``saves`` saves (callgrind toggled around)."""
    sys.path.insert(0, os.getcwd())  # the tree under test, not this file's
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from feed_outbox.tracking import tracking_disabled
    from sample_app.models import Tweet

    settings = connection.settings_dict
    settings["ATOMIC_REQUESTS"] = False
    settings["TEST"] = {**settings.get("TEST", {}), "NAME": f"{settings['NAME']}_instructions"}
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        user = get_user_model().objects.create(username="bench")

        def save() -> None:
            with transaction.atomic():
                Tweet.objects.create(user=user, text="benchmark tweet")

        def one() -> None:
            if mode == "tracked":
                save()
            else:
                with tracking_disabled():
                    save()

        for _ in range(100):
            one()
        control = ["callgrind_control", "--instr"]
        subprocess.run([*control, "on", str(os.getpid())], check=True, capture_output=True)
        for _ in range(saves):
            one()
        subprocess.run([*control, "off", str(os.getpid())], check=True, capture_output=True)
    finally:
        connection.creation.destroy_test_db(settings["NAME"], verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200, help="saves counted per mode")
    parser.add_argument("--tree", action="append", type=Path, help="a checkout (default: this)")
    parser.add_argument("--loop", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        loop(args.loop, args.saves)
        return 0
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("needs valgrind (apt-get install valgrind): not measured")
        return 0
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/feed_outbox")
    trees = [tree.resolve() for tree in args.tree or [ROOT]]
    print(f"instructions per Tweet.objects.create() (callgrind, {args.saves} saves per mode)")
    reference: dict[str, int] = {}
    for tree in trees:
        commit = h.commit_of(tree)
        cells = []
        for mode in MODES:
            per_save = measure(tree, mode, args.saves, database_url) // args.saves
            reference.setdefault(mode, per_save)
            cells.append(f"{mode} {per_save:,} (x{per_save / reference[mode]:.3f})")
        print(f"  {tree.name} {commit or '?'}: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
