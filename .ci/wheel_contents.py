"""Check a built wheel against the checkout: every tracked file of feed_outbox/ and relay/ (code,
migrations, templates, static files, py.typed: whatever package data the packages hold) is in
it, it holds nothing else but its metadata, and the metadata carries the license and the entry
points the pytest plugin and the drain are found by.

Usage: python .ci/wheel_contents.py dist/django_feed_outbox-X-py3-none-any.whl
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("feed_outbox", "relay")
# Tracked files of the packages that are documentation for the repository, not package data.
NOT_SHIPPED = (".md",)
ENTRY_POINTS = ("[pytest11]", "feed_outbox = feed_outbox.testing.plugin", "[feed_outbox.drain]")


def tracked() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {name for name in listed if not name.endswith(NOT_SHIPPED)}


def problems(wheel: Path) -> list[str]:
    names = set(zipfile.ZipFile(wheel).namelist())
    dist_info = {name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info")}
    found = [f"missing from the wheel: {name}" for name in sorted(tracked() - names)]
    found += [
        f"not from the packages: {name}"
        for name in sorted(names)
        if name.split("/")[0] not in {*PACKAGES, *dist_info}
    ]
    if len(dist_info) != 1:
        return [*found, f"{len(dist_info)} .dist-info directories"]
    [meta] = dist_info
    if f"{meta}/licenses/LICENSE" not in names:
        found.append("no LICENSE in the wheel's metadata")
    points = zipfile.ZipFile(wheel).read(f"{meta}/entry_points.txt").decode()
    found += [f"entry_points.txt lacks {line!r}" for line in ENTRY_POINTS if line not in points]
    # What the rule above would miss if the checkout lost them as well.
    for kind, prefix in [
        ("migrations", "feed_outbox/migrations/0001_"),
        ("templates", "feed_outbox/templates/"),
    ]:
        if not any(name.startswith(prefix) for name in names):
            found.append(f"no {kind} ({prefix}…) in the wheel")
    return found


def main(argv: list[str]) -> int:
    [wheel] = argv
    found = problems(Path(wheel))
    for problem in found:
        print(f"wheel contents: {problem}", file=sys.stderr)
    if not found:
        print(f"wheel contents: {Path(wheel).name} holds the {len(tracked())} package files")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
