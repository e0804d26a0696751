"""Run the getstream SDK's own Feeds v3 integration tests against the emulator's v3 API.

    python -m tests.emulator.sdk_conformance --stream-py PATH [-- PYTEST_ARGS...]

``PATH`` is a checkout of GetStream/stream-py, or its bare git directory (then the file is read
from ``--rev``, HEAD by default). Its ``tests/test_feed_integration.py`` is written against the
real service and skips itself unless enabled; this copies it to a temporary directory without
that skip (nothing of it is kept), starts an emulator, points the SDK at it with
STREAM_API_KEY / STREAM_API_SECRET / STREAM_BASE_URL, runs it with pytest and prints the count
and each failure's first error line. docs/topics/feeds-v3.md ("Conformance") records the results.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TEST_FILE = "tests/test_feed_integration.py"
KEY, SECRET = "conformance-key", "conformance-secret"
_DISABLED = re.compile(r'^\s*pytest\.skip\("feed integration tests are disabled[^"]*"\)\s*$')


def sdk_tests(stream_py: Path, rev: str) -> tuple[str, str]:
    """(the test file's text, where it came from)."""
    checkout = stream_py / TEST_FILE
    if checkout.exists():
        return checkout.read_text(), str(checkout)
    git = ["git", "--git-dir", str(stream_py)]
    text = subprocess.run([*git, "show", f"{rev}:{TEST_FILE}"], check=True,
                          capture_output=True, text=True).stdout
    commit = subprocess.run([*git, "rev-parse", rev], check=True, capture_output=True,
                            text=True).stdout.strip()
    return text, f"{stream_py} @ {commit}"


def enabled(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not _DISABLED.match(line)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream-py", type=Path, required=True)
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)

    from feed_outbox.testing import start_emulator

    text, source = sdk_tests(args.stream_py, args.rev)
    emulator = start_emulator(KEY, SECRET)
    try:
        with tempfile.TemporaryDirectory(prefix="sdk-conformance-") as tmp:
            Path(tmp, "pytest.ini").write_text("[pytest]\n")
            Path(tmp, "test_feed_integration.py").write_text(enabled(text))
            env = {**os.environ, "STREAM_API_KEY": KEY, "STREAM_API_SECRET": SECRET,
                   "STREAM_BASE_URL": emulator.url}
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-rfE", "--tb=line",
                 "-p", "no:cacheprovider", "-p", "no:feed_outbox",
                 "test_feed_integration.py", *args.pytest_args],
                cwd=tmp, env=env, capture_output=True, text=True,
            )
    finally:
        emulator.stop()
    print(f"SDK tests: {source}")
    lines = result.stdout.splitlines()
    for line in lines:
        if line.startswith(("FAILED", "ERROR")) or re.search(r"\d+ (passed|failed)", line):
            print(line)
    if not any("passed" in line or "failed" in line for line in lines[-3:]):
        print(result.stdout[-4000:], result.stderr[-4000:])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
