"""Emulator throughput: add_activity and get req/s from concurrent keep-alive client processes.

Run: python tests/benchmarks/bench_emulator.py [--clients 8] [--seconds 5]
     [--client requests|stream|http]
     [--data FILE]
Starts `python -m feed_outbox.emulator --port 0` as a subprocess, drives it from separate client
processes (no shared GIL with the server or each other) and prints req/s and the server's RSS.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
API_KEY, API_SECRET = "bench-key", "bench-secret-0123456789abcdef0123456789abcdef"


def start_emulator(extra: list[str]) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "STREAM_API_SECRET": API_SECRET, "PYTHONPATH": str(ROOT)}
    env.pop("LOCAL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "feed_outbox.emulator", "--port", "0", "--api-key", API_KEY, *extra],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline().strip()
    prefix = "Stream emulator listening on "
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, line[len(prefix) :]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User+system CPU the server used: its cost per request, independent of machine load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _http(conn, method: str, path: str, headers: dict, body: str | None) -> int:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def _worker(kind, mode, url, worker, seconds, start_at, results) -> None:
    import requests
    import stream

    os.environ.pop("LOCAL", None)
    client = stream.connect(API_KEY, API_SECRET, base_url=url)
    feed = client.feed("user", f"bench{worker}")
    session = requests.Session()
    # no proxy/netrc lookups per request: measure the server, not requests' environment probing
    session.trust_env = False
    token = feed.create_scope_token("feed", "write" if kind == "add" else "read")
    feed_url = f"{url}/api/v1.0/feed/user/bench{worker}/?api_key={API_KEY}&limit=25"
    headers = {
        "Authorization": token,
        "stream-auth-type": "jwt",
        "Content-Type": "application/json",
    }
    parts = urlsplit(feed_url)
    path = f"{parts.path}?{parts.query}"
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds
    done = errors = 0
    while time.time() < deadline:
        if kind == "add":
            body = {
                "actor": f"user:{worker}",
                "verb": "tweet",
                "object": f"tweet:{done}",
                "foreign_id": f"tweet:{worker}:{done}",
            }
            if mode == "stream":
                feed.add_activity(body)
                ok = True
            elif mode == "http":
                ok = _http(conn, "POST", path, headers, json.dumps(body)) == 200
            else:
                ok = (
                    session.post(feed_url, data=json.dumps(body), headers=headers).status_code
                    == 200
                )
        elif mode == "stream":
            feed.get(limit=25)
            ok = True
        elif mode == "http":
            ok = _http(conn, "GET", path, headers, None) == 200
        else:
            ok = session.get(feed_url, headers=headers).status_code == 200
        done += 1
        errors += not ok
    results.put((done, errors))


def drive(kind: str, mode: str, url: str, clients: int, seconds: float) -> tuple[float, int]:
    results: mp.Queue = mp.Queue()
    start_at = time.time() + 1.0  # let every process import and connect first
    procs = [
        mp.Process(target=_worker, args=(kind, mode, url, i, seconds, start_at, results))
        for i in range(clients)
    ]
    for proc in procs:
        proc.start()
    totals = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    # every worker ran for exactly `seconds` after the common start
    done = sum(t[0] for t in totals)
    return done / seconds, sum(t[1] for t in totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--client",
        choices=("requests", "stream", "http"),
        default="requests",
        help="keep-alive requests.Session (default), the stream-python client, or a bare "
        "http.client connection (least client CPU: shows the server's ceiling)",
    )
    parser.add_argument("--data", metavar="FILE", help="run the emulator with --data FILE")
    parser.add_argument("--quick", action="store_true", help="4 clients for 2 s (make bench)")
    parser.add_argument("--json", metavar="PATH", help="also write req/s as JSON (make bench)")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds = 4, 2.0
    proc, url = start_emulator(["--data", args.data] if args.data else [])
    try:
        before = rss_mb(proc.pid)
        print(
            f"emulator {url}  clients={args.clients}  client={args.client}  seconds={args.seconds}"
        )
        print(f"RSS before: {before:.1f} MB")
        cpu = cpu_seconds(proc.pid)
        add_rate, add_errors = drive("add", args.client, url, args.clients, args.seconds)
        add_cpu, cpu = cpu_seconds(proc.pid) - cpu, cpu_seconds(proc.pid)
        after_add = rss_mb(proc.pid)
        stored = int(add_rate * args.seconds)
        print(
            f"add_activity: {add_rate:8.0f} req/s  errors={add_errors}  stored={stored}  "
            f"server CPU {add_cpu / max(stored, 1) * 1e6:.0f} us/req  RSS {after_add:.1f} MB"
        )
        get_rate, get_errors = drive("get", args.client, url, args.clients, args.seconds)
        get_cpu = cpu_seconds(proc.pid) - cpu
        after_get = rss_mb(proc.pid)
        gets = int(get_rate * args.seconds)
        print(
            f"get (limit 25): {get_rate:6.0f} req/s  errors={get_errors}  "
            f"server CPU {get_cpu / max(gets, 1) * 1e6:.0f} us/req  RSS {after_get:.1f} MB"
        )
        print(f"RSS growth during gets (no new data): {after_get - after_add:+.1f} MB")
        if args.json:
            figures = {
                "add_activity": {"value": add_rate, "unit": "req/s"},
                "get (limit 25)": {"value": get_rate, "unit": "req/s"},
                "errors": {"value": add_errors + get_errors, "unit": "requests"},
            }
            title = f"Emulator throughput ({args.clients} clients, {args.client})"
            Path(args.json).write_text(json.dumps({"title": title, "figures": figures}))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
