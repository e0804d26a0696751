"""The demo launcher's pieces: it refuses busy ports, and its data directory and ports move."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from sample_app import demo
from tests.conftest import ROOT


def test_a_busy_port_stops_the_demo_before_anything_starts(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(demo, "DATA_DIR", tmp_path / "data")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setattr(demo, "WEB_PORT", busy.getsockname()[1])
        assert demo.main() == 1
    assert "is in use" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # nothing migrated, nothing started


def test_data_dir_and_ports_come_from_the_environment(tmp_path):
    env = dict(
        os.environ,
        DEMO_DATA_DIR=str(tmp_path),
        DEMO_WEB_PORT="8123",
        DEMO_EMULATOR_PORT="8765",
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sample_app import demo as d; print(d.DATA_DIR, d.WEB_PORT, d.EMULATOR_PORT)",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [str(tmp_path.resolve()), "8123", "8765"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_demo_starts_everything_and_a_signal_stops_everything(tmp_path, stop_signal):
    web, emulator = _free_port(), _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "STREAM_", "DJANGO"))
    }
    env.update(
        DEMO_DATA_DIR=str(tmp_path), DEMO_WEB_PORT=str(web), DEMO_EMULATOR_PORT=str(emulator)
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sample_app.demo"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Started ignoring SIGINT, as a shell's `&` would: the demo must still obey Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 120
        while not (_listening(web) and _listening(emulator)):
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the demo did not start within 120s"
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/login/", timeout=10) as response:
            assert b"Demo users" in response.read()
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=30) == 0
        assert not _listening(web) and not _listening(emulator)
        assert (tmp_path / "db.sqlite3").exists() and (tmp_path / "emulator.sqlite3").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
