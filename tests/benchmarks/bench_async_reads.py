"""Async reads: N concurrent timeline page reads, Chirp's async view (/timeline/async/) against
its sync view (/timeline/) under the same ASGI server (uvicorn, one process), on the emulator.

Run: python -m tests.benchmarks.bench_async_reads [--quick] [--json PATH] [--api v2|v3]
     [--latency-ms N]

Stream is a network hop away: the emulator answers after ``--latency-ms`` (20 by default, the
distance bench_relay models; 0 is the emulator on localhost, where a page is all CPU and the
event loop has nothing to overlap).

Each page is what a logged-in reader sees: the session and the user, a 25-activity page of the
timeline read from Stream and enriched, the reader's likes and retweets on it, the people list,
the notification badge (a second Stream read) and the outbox lag. The sync view runs as Django
runs any sync view under ASGI (a thread of its own per request, ``ThreadSensitiveContext``);
the async view awaits Stream through the clients' async APIs and the ORM through its async
methods (whose queries Django still runs on a thread: ``sync_to_async``).

A round sends ``requests`` reads, ``concurrency`` at a time (1, 10, 50, 200; ``--quick``: 10
and 50), from a client in this process (aiohttp, that many connections), to one view, then the
same to the other, the order alternating between rounds. Figures per view and concurrency: requests/s and the p50/p99
of each read's wall time (the medians of the rounds), and the server's own CPU per request
(user+sys from /proc, the figure the shared machine disturbs least).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

from tests.benchmarks import _harness as h
from tests.benchmarks import bench_enrich
from tests.benchmarks.bench_emulator import cpu_seconds

VIEWS = {"sync": "/timeline/", "async": "/timeline/async/"}


def session() -> str:
    """The session of bench_enrich's reader (following 8 authors who tweet, like and retweet
    each other over 9 days), logged in."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=bench_enrich.seed()))
    return client.cookies["sessionid"].value


async def _round(url: str, session: str, requests: int, concurrency: int) -> dict:
    import aiohttp

    latencies: list[float] = []
    queue = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    cookies = {"sessionid": session}
    async with aiohttp.ClientSession(connector=connector, cookies=cookies) as client:

        async def worker() -> None:
            for _ in queue:
                start = time.perf_counter()
                async with client.get(url, allow_redirects=False) as response:
                    body = await response.read()
                    if response.status != 200 or b'id="feed"' not in body:
                        raise RuntimeError(f"{url} answered {response.status}")
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {
        "rps": requests / seconds,
        "p50": h.percentile(latencies, 50) * 1000,
        "p99": h.percentile(latencies, 99) * 1000,
    }


def measure(base: str, pid: int, session: str, quick: bool) -> tuple[dict, dict, list[str]]:
    # 1 and 10 show where the views part: one request at a time, nothing competes for the
    # process; the 50 and 200 are a server under load.
    levels = (10, 50) if quick else (1, 10, 50, 200)
    rounds, requests = (2, 100) if quick else (3, 300)
    figures, ratios = {}, {}
    for concurrency in levels:
        runs: dict[str, list[dict]] = {view: [] for view in VIEWS}
        for r in range(rounds):
            views = list(VIEWS) if r % 2 == 0 else list(reversed(VIEWS))
            for view in views:
                cpu = cpu_seconds(pid)
                result = asyncio.run(_round(base + VIEWS[view], session, requests, concurrency))
                result["cpu"] = (cpu_seconds(pid) - cpu) / requests * 1000
                runs[view].append(result)
        for view in VIEWS:
            at = f"{view} view, {concurrency} concurrent"
            for key, unit in (("rps", "req/s"), ("p50", "ms"), ("p99", "ms"), ("cpu", "ms/req")):
                name = {"rps": "requests/s", "cpu": "server CPU"}.get(key, f"{key} latency")
                figures[f"{at}: {name}"] = h.summary([x[key] for x in runs[view]], unit)
        pairs = zip(runs["async"], runs["sync"], strict=True)
        ratios[f"{concurrency} concurrent: async / sync requests/s"] = h.summary(
            [a["rps"] / s["rps"] for a, s in pairs], "×"
        )
    notes = [
        f"{rounds} rounds × {requests} page reads per view and concurrency, views alternated",
        f"server: one uvicorn process; load: aiohttp in the benchmark process; load "
        f"average {os.getloadavg()[0]:.1f} at the end (2 cores shared: wall figures are noisy, "
        "server CPU per request less so)",
    ]
    return figures, ratios, notes


def run(quick: bool = False, api: str = "v2", latency_ms: int = 20) -> dict:
    from tests.asgi_server import uvicorn

    with contextlib.ExitStack() as stack:
        url = stack.enter_context(h.scratch_database(h.database_url("async_reads")))
        h.setup_django(
            url, base_url=stack.enter_context(h.emulator("--latency-ms", str(latency_ms)))
        )
        os.environ["FEED_OUTBOX_STREAM_API"] = api
        from django.conf import settings

        settings.FEED_OUTBOX_STREAM_API = api
        reader = session()
        env = {**os.environ, "PYTHONPATH": str(h.ROOT), "DEBUG": "false"}
        served = stack.enter_context(uvicorn(env))
        figures, ratios, notes = measure(served.url, served.pid, reader, quick)
    return {
        "title": (
            f"Async reads: Chirp's timeline, async view vs sync view under uvicorn ({api}, "
            f"Stream {latency_ms} ms away)"
        ),
        "figures": figures,
        "ratios": ratios,
        "notes": notes,
    }


def main() -> None:
    parser = h.parser(__doc__)
    parser.add_argument("--api", choices=("v2", "v3"), default="v2")
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    h.emit(run(quick=args.quick, api=args.api, latency_ms=args.latency_ms), args.json)


if __name__ == "__main__":
    main()
