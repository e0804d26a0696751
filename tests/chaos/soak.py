"""``make soak``: the chaos scenarios at a larger scale, then their counts, one line per scenario.

Runs pytest on tests/chaos with CHAOS_SCALE (default 10: ~25,000 events) so the database,
emulator and processes are set up exactly as in the bounded run; ``--rounds N`` repeats each
scenario with new seeds. Exit status is pytest's.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

# A scenario's counts line, after pytest's progress characters (not inside a failure report).
LINE = re.compile(r"^[.FxXsE]*(chaos scenario=\S+ .*)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.soak", description=__doc__)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("CHAOS_SCALE", 10)))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("-k", default="", help="only scenarios matching this pytest -k expression")
    args = parser.parse_args(argv)
    env = {**os.environ, "CHAOS_SCALE": str(args.scale)}
    cmd = [sys.executable, "-m", "pytest", "tests/chaos", "-s", "-q", "-p", "no:cacheprovider"]
    if args.k:
        cmd += ["-k", args.k]
    status, lines = 0, []
    for round_ in range(1, args.rounds + 1):
        print(f"soak round {round_}/{args.rounds} at scale {args.scale}", flush=True)
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        output = []
        for line in proc.stdout:  # each scenario's counts as soon as it is done
            output.append(line)
            found = LINE.match(line)
            if found:
                lines.append(found.group(1))
                print(found.group(1), flush=True)
        proc.wait()
        status = status or proc.returncode
        if proc.returncode:
            print("".join(output)[-8000:])
    print("\n".join(["", "soak results:", *lines]))
    events = sum(int(m) for line in lines for m in re.findall(r" events=(\d+)", line))
    print(f"soak total: {len(lines)} scenario runs, {events} events, pytest exit {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
