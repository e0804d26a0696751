"""``python -m sample_app.demo``: migrate, seed, then run the emulator, the relay and the web app.

Ctrl-C stops all three. Feeds persist in .demo/ (SQLite database and emulator data), or in
DEMO_DATA_DIR; DEMO_WEB_PORT and DEMO_EMULATOR_PORT move the two ports. Staff can stop and start
the emulator from the web app (sample_app.stream_switch) to watch the outbox ride out an outage.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sample_app import stream_switch

ROOT = Path(__file__).resolve().parent.parent
WEB_PORT = int(os.environ.get("DEMO_WEB_PORT", "8000"))
EMULATOR_PORT = int(os.environ.get("DEMO_EMULATOR_PORT", "8700"))
# Where the SQLite database and the emulator's data live (several demos can run side by side).
DATA_DIR = Path(os.environ.get("DEMO_DATA_DIR") or ROOT / ".demo").resolve()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode} while starting")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{name} did not listen on port {port} within {timeout:.0f}s")


def emulator_command(python: str) -> list[str]:
    """The emulator's command line. It reads STREAM_API_KEY and STREAM_API_SECRET from the
    environment it inherits: an argument would show the secret to anyone running `ps`."""
    return [
        python,
        "-m",
        "feed_outbox.emulator",
        "--port",
        str(EMULATOR_PORT),
        "--data",
        str(DATA_DIR / "emulator.sqlite3"),
    ]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    # SIGTERM (kill, docker stop) stops the children like Ctrl-C does instead of orphaning them
    # in their own sessions; SIGINT is reinstalled because a shell's `&` starts us ignoring it.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "sample_app.settings")
    env.setdefault("STREAM_API_KEY", "demo-key")
    env.setdefault("STREAM_API_SECRET", "demo-secret-for-the-local-emulator-only")
    env.setdefault("STREAM_BASE_URL", f"http://localhost:{EMULATOR_PORT}")
    env.setdefault("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
    env["PYTHONUNBUFFERED"] = "1"
    env["DEMO_CONTROL_DIR"] = str(DATA_DIR)
    for port in (WEB_PORT, EMULATOR_PORT):
        if not _port_free(port):
            print(
                f"port {port} is in use: stop what runs there (or set DEMO_WEB_PORT / "
                "DEMO_EMULATOR_PORT) and try again",
                file=sys.stderr,
            )
            return 1
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    manage = [py, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*manage, "seed_demo"], env=env, cwd=ROOT, check=True)

    procs: list[tuple[str, subprocess.Popen]] = []

    def start(name: str, args: list[str]) -> subprocess.Popen:
        # Own process groups: Ctrl-C reaches only us, and we stop the children in order.
        proc = subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True)
        procs.append((name, proc))
        return proc

    emulator_args = emulator_command(py)

    def start_emulator() -> subprocess.Popen:
        emulator = start("emulator", emulator_args)
        _wait_for_port(EMULATOR_PORT, emulator, "the Stream emulator")
        stream_switch.done(DATA_DIR, "start")
        return emulator

    def stop_emulator(emulator: subprocess.Popen) -> None:
        procs.remove(("emulator", emulator))
        emulator.send_signal(signal.SIGTERM)
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()
        stream_switch.done(DATA_DIR, "stop")

    (DATA_DIR / "stream.request").unlink(missing_ok=True)  # left by an earlier run
    try:
        emulator: subprocess.Popen | None = start_emulator()
        start("relay", [py, "-m", "relay", "--poll-interval", "0.5"])
        web = start("web", [*manage, "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload"])
        _wait_for_port(WEB_PORT, web, "the web app")
        print(
            f"\n  feed-outbox demo is running: http://localhost:{WEB_PORT}/\n"
            "  log in as alice, bob, carol, dave, erin or frank (password: demo)\n"
            "  staff account: staff (password: demo): the outbox status page and the Stream\n"
            "    switch are in its navigation (stop Stream, keep posting, start it again)\n"
            f"  emulator inspection page: http://localhost:{EMULATOR_PORT}/_emulator/\n"
            "  Ctrl-C stops the web app, the relay and the emulator.\n",
            flush=True,
        )
        while all(p.poll() is None for _, p in procs):
            time.sleep(0.2)
            action = stream_switch.take_request(DATA_DIR)
            if action == "stop" and emulator is not None:
                print("  Stream (the emulator) stopped from the web app", flush=True)
                stop_emulator(emulator)
                emulator = None
            elif action == "start" and emulator is None:
                print("  Stream (the emulator) started again from the web app", flush=True)
                emulator = start_emulator()
            elif action is not None:  # already in the state asked for
                stream_switch.done(DATA_DIR, action)
        dead = [name for name, p in procs if p.poll() is not None]
        print(f"{', '.join(dead)} stopped unexpectedly; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _name, proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
