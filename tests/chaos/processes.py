"""The real processes of a chaos run: the emulator (restartable, with --data), relays and writers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from feed_outbox.testing import EMULATOR_KEY, EMULATOR_SECRET
from tests.polling import wait_for
from tests.subprocesses import stop

__all__ = ["EMULATOR_KEY", "EMULATOR_SECRET"]  # the chaos modules import them from here
READY = "Stream clients ready"  # relay/pool.py's line once a relay can deliver


class EmulatorProcess:
    """``python -m feed_outbox.emulator`` in a subprocess; its request log survives restarts.

    The log is polled incrementally and kept per incarnation: a SIGKILL loses at most the
    entries since the last poll, and a missing entry can hide an order violation but never
    invent one (a subsequence of an ordered sequence is ordered). Feeds v2 and v3 have a log
    each (``/_emulator/log?api=v3``), in the same shape.
    """

    APIS = ("v2", "v3")

    def __init__(self, workdir: Path, seed: int, data: bool = False, **faults: Any) -> None:
        self.workdir = workdir
        self.seed = seed
        self.data_path = workdir / "emulator.sqlite3" if data else None
        self.faults = faults
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.logs: dict[str, list[list[dict]]] = {api: [] for api in self.APIS}
        self.restarts = 0
        # fault counters of earlier incarnations (a restart resets the emulator's own)
        self.earlier_faults: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> EmulatorProcess:
        cmd = [
            sys.executable,
            "-m",
            "feed_outbox.emulator",
            "--port",
            str(self.port),
            "--api-key",
            EMULATOR_KEY,
            "--seed",
            str(self.seed + self.restarts),
        ]
        if self.data_path is not None:
            cmd += ["--data", str(self.data_path)]
        for name, value in self.faults.items():
            cmd += [f"--{name.replace('_', '-')}", str(value)]
        env = {**os.environ, "STREAM_API_SECRET": EMULATOR_SECRET}
        # the child keeps its own copy of the descriptor
        with open(self.workdir / "emulator.stderr", "ab") as stderr:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=stderr, env=env, text=True
            )
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1].strip().strip("/"))
        with self._lock:
            for logs in self.logs.values():
                logs.append([])
        if self._poller is None:
            self._poller = threading.Thread(target=self._poll_log, daemon=True)
            self._poller.start()
        return self

    def _get(self, path: str, timeout: float = 5.0) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as r:
            return json.loads(r.read())

    def _post(self, path: str, body: dict) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            # the emulator refuses state-changing control requests without it (inspector.py)
            headers={"Content-Type": "application/json", "X-Emulator-Control": "1"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            return json.loads(r.read())

    def fetch_log(self) -> None:
        with self._lock:
            for api, logs in self.logs.items():
                current = logs[-1]
                since = current[-1]["seq"] if current else 0
                try:
                    rows = self._get(f"/_emulator/log?since={since}&api={api}")["log"]
                except OSError:
                    return
                current.extend(rows)

    def _poll_log(self) -> None:
        while not self._stop.wait(0.25):
            self.fetch_log()

    def request_log(self, api: str = "v2") -> list[dict]:
        self.fetch_log()
        with self._lock:
            logs = self.logs[api]
            return [dict(row, incarnation=i) for i, rows in enumerate(logs) for row in rows]

    def set_faults(self, **changes: Any) -> dict:
        return self._post("/_emulator/control", changes)["faults"]

    def stats(self) -> dict:
        return self._get("/_emulator/stats")

    def fault_totals(self) -> Counter[str]:
        return self.earlier_faults + Counter(self.stats().get("faults", {}))

    def feeds(self) -> dict[str, dict]:
        return self._get("/_emulator/feeds.json", timeout=30)["feeds"]

    def crash_and_restart(self) -> None:
        """SIGKILL the emulator and start it again on the same port with the same --data."""
        try:
            self.earlier_faults.update(self.stats().get("faults", {}))
        except OSError:
            pass
        # Last, right before the kill: the rows applied after it are lost with the process.
        self.fetch_log()
        self.proc.kill()
        self.proc.wait()
        self.restarts += 1
        wait_for(self._try_start, 15, 0.1, "the emulator to listen again")

    def _try_start(self) -> bool:
        try:
            self.start()
        except RuntimeError:
            return False
        return True

    def stop(self) -> None:
        self._stop.set()
        if self.proc and self.proc.poll() is None:
            self.fetch_log()
            stop(self.proc, timeout=10)


class RelayPool:
    """N ``python -m relay`` processes, restarted when they die (as an orchestrator would).

    Each runs in a process group of its own and is signalled as a group: with two APIs
    ``python -m relay`` supervises one child relay per API, and a SIGKILL of the supervisor
    alone would leave its children running (as a container's kill does not).
    """

    def __init__(self, env: dict[str, str], workdir: Path, size: int, rng: random.Random) -> None:
        self.env = dict(env)
        self.workdir = workdir
        self.size = size
        self.rng = rng
        self.procs: list[subprocess.Popen | None] = [None] * size
        self.exits: Counter[int] = Counter()
        self.killed = 0
        self.starts = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None

    def _spawn(self, slot: int) -> None:
        cmd = [sys.executable, "-m", "relay", "--poll-interval", "0.2", "--batch-size", "25"]
        with open(self.workdir / f"relay-{slot}.log", "ab") as log:
            self.procs[slot] = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        self.starts += 1

    def start(self) -> RelayPool:
        with self._lock:
            for slot in range(self.size):
                self._spawn(slot)
        self._stop.clear()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()
        return self

    def _supervise(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                for slot, proc in enumerate(self.procs):
                    if proc is not None and proc.poll() is not None:
                        self.exits[proc.returncode] += 1
                        self._spawn(slot)

    def kill_one(self) -> None:
        with self._lock:
            proc = self.rng.choice(self.procs)
            if proc is not None and proc.poll() is None:
                _signal_group(proc, signal.SIGKILL)
                self.killed += 1

    def kill_all(self) -> None:
        with self._lock:
            for proc in self.procs:
                if proc is not None and proc.poll() is None:
                    _signal_group(proc, signal.SIGKILL)
                    self.killed += 1

    def stop(self) -> None:
        """SIGTERM (graceful shutdown) every relay and stop restarting them."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join()
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()  # the supervisor stops its children gracefully
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            _signal_group(proc, signal.SIGKILL)  # nothing of a stopped relay outlives it

    def wait_ready(self, apis: int, timeout: float = 60.0) -> None:
        """Until every relay has built its Stream clients (each of its ``apis`` relays):
        the writers then start against relays that deliver, not ones still importing."""

        def ready() -> bool:
            return all(
                log.exists() and log.read_text(errors="replace").count(READY) >= apis
                for log in (self.workdir / f"relay-{slot}.log" for slot in range(self.size))
            )

        wait_for(ready, timeout, 0.1, "the relays to build their Stream clients")

    def restart_with(self, **env: str) -> None:
        """Stop every relay, change its environment, start them all again."""
        self.stop()
        self.env.update(env)
        self.start()

    def output(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("relay-*.log"))
        )


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass


def run_writers(
    env: dict[str, str], argv_per_writer: list[list[str]], timeout: float
) -> list[dict]:
    """Run writer processes to completion; returns each one's counts."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.workload", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for argv in argv_per_writer
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"writer failed ({proc.returncode}):\n{err[-4000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results
