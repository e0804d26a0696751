"""The demo launcher's pieces: it refuses busy ports, and its data directory and ports move."""

import os
import socket
import subprocess
import sys

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
