"""What every benchmark shares: repeated runs summarised as median/min/max, ratios, a scratch
PostgreSQL database and emulator subprocesses, and the one-line JSON protocol `make bench` reads.

A benchmark run with ``--json PATH`` writes ``{"title", "figures", "ratios", "notes"}`` where each
figure or ratio is either one run's ``{"value", "unit"}`` (the harness repeats the script and
summarises) or already ``{"median", "min", "max", "runs", "unit"}``; ``target`` is optional
(``{"op": "<=", "value": 1.3}``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tests.subprocesses import stop

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/feed_outbox_bench"
API_KEY = "bench-key"
API_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
EMULATOR_BANNER = "Stream emulator listening on "


# Summaries.
def summary(values: Sequence[float], unit: str = "", target: dict | None = None) -> dict:
    """Median, min and max of repeated measurements (the only way a figure is reported)."""
    if not values:
        raise ValueError("no measurements")
    out = {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
        "unit": unit,
    }
    if target is not None:
        out["target"] = target
    return out


def met(figure: dict) -> bool | None:
    """Whether a figure's median meets its target (None when it has none)."""
    target = figure.get("target")
    if not target:
        return None
    value, bound = figure["median"], target["value"]
    return {"<=": value <= bound, ">=": value >= bound, "<": value < bound, ">": value > bound}[
        target["op"]
    ]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p50/p95/p99 of latencies)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def timed(fn: Callable[[], Any]) -> float:
    """Seconds ``fn()`` took, on the monotonic high-resolution clock."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# The command line every benchmark module shares.
def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON for make bench")
    return p


def emit(result: dict, json_path: str | None) -> None:
    """Print a benchmark's figures as a small table and, with --json, write them."""
    print(f"\n{result['title']}")
    for kind in ("figures", "ratios"):
        for name, fig in result.get(kind, {}).items():
            print(f"  {name:<52} {format_figure(fig)}")
    for note in result.get("notes", []):
        print(f"  note: {note}")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2, default=str))


def format_number(value: float) -> str:
    if value == int(value) or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_figure(fig: dict) -> str:
    unit = fig.get("unit", "")
    if "median" not in fig:
        return f"{format_number(fig['value'])} {unit}".rstrip()
    text = (
        f"{format_number(fig['median'])} {unit} "
        f"(min {format_number(fig['min'])}, max {format_number(fig['max'])}, "
        f"{fig['runs']} runs)"
    )
    ok = met(fig)
    if ok is not None:
        target = fig["target"]
        text += f"  target {target['op']} {target['value']}: {'met' if ok else 'NOT met'}"
    return text


# PostgreSQL: each benchmark creates, and drops, a database of its own.
def database_url(suffix: str) -> str:
    """DATABASE_URL (default feed_outbox_bench) with ``_suffix`` appended to the database name."""
    url = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    name = url.path.lstrip("/") or "feed_outbox_bench"
    return urlunsplit(url._replace(path=f"/{name}_{suffix}"))


def commit_of(tree: Path) -> str:
    """The short commit ``tree`` has checked out ('' where git cannot say)."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
    ).stdout.strip()


def tree_env(tree: Path, database_url: str) -> dict[str, str]:
    """The environment of a child process running ``tree``'s code (its checkout first on
    sys.path) with the sample app's settings on ``database_url``: an A/B between trees."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sample_app.settings",
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(tree),
    }


def _admin_connect(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A fresh, empty database at ``url`` for the block; dropped afterwards."""
    name = urlsplit(url).path.lstrip("/")
    with _admin_connect(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with contextlib.suppress(Exception), _admin_connect(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str, base_url: str | None = None) -> None:
    """Configure the sample app's settings (as users run it) on ``database_url`` and migrate."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="sample_app.settings",
        DATABASE_URL=database_url,
        STREAM_API_KEY=API_KEY,
        STREAM_API_SECRET=API_SECRET,
        STREAM_BASE_URL=base_url or "",
    )
    os.environ.pop("LOCAL", None)  # stream-python would talk to a local Stream instead
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    # the in-process relay's per-batch log lines would drown the figures
    logging.getLogger("relay").setLevel(logging.WARNING)


# The emulator, as a subprocess of this process tree.
@contextlib.contextmanager
def emulator(*args: str) -> Iterator[str]:
    """Run ``python -m feed_outbox.emulator --port 0 *args``; yields its base URL."""
    env = {**os.environ, "STREAM_API_SECRET": API_SECRET, "PYTHONPATH": str(ROOT)}
    env.pop("LOCAL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "feed_outbox.emulator", "--port", "0", "--api-key", API_KEY, *args],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        if not line.startswith(EMULATOR_BANNER):
            raise RuntimeError(f"emulator did not start: {line!r}")
        yield line[len(EMULATOR_BANNER) :]
    finally:
        stop(proc, timeout=10)


def applied_at(base_url: str, api: str = "v2") -> dict[str, float]:
    """foreign_id -> when the emulator first applied its add (its ``time.time()``; a retried
    write logs again), from the ``api`` store's write log (``/_emulator/log``)."""
    url = f"{base_url}/_emulator/log?api={api}"
    with urllib.request.urlopen(url, timeout=30) as response:
        rows = json.loads(response.read())["log"]
    applied: dict[str, float] = {}
    for row in rows:
        if row["op"] == "add_activity" and row["foreign_id"] not in applied:
            applied[row["foreign_id"]] = row["at"]
    return applied


def wait_delivered(seconds: float = 60, what: str = "the relays") -> None:
    """Return once no outbox event is pending; raise after ``seconds``."""
    from feed_outbox.models import EventStatus, OutboxEvent

    deadline = time.monotonic() + seconds
    while OutboxEvent.objects.filter(status=EventStatus.PENDING).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not deliver everything within {seconds:g} s")
        time.sleep(0.1)
