"""The Stream API secret never rides on a command line, where `ps` shows it to every user: the
demo launcher and docker-compose hand it to the emulator through the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import stream
import yaml

from sample_app import demo

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-secret-only-the-environment-may-hold-0123456789"


def test_the_demo_emulator_command_line_holds_no_secret(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DATA_DIR", tmp_path)
    monkeypatch.setattr(demo, "EMULATOR_PORT", 0)
    command = demo.emulator_command(sys.executable)
    assert "--api-secret" not in command and not any(SECRET in arg for arg in command)
    # Started as the demo starts it (the secret in the inherited environment), the emulator
    # holds no secret in its /proc cmdline and accepts a client signing with that secret.
    env = {**os.environ, "STREAM_API_KEY": "demo-key", "STREAM_API_SECRET": SECRET}
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, proc.stderr.read()
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        assert SECRET.encode() not in cmdline
        client = stream.connect("demo-key", SECRET, base_url=line.split(" on ")[1].strip())
        client.feed("user", "1").add_activity({"actor": "u:1", "verb": "v", "object": "o"})
        assert len(client.feed("user", "1").get()["results"]) == 1
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert "warning" not in err  # no --api-secret, so no warning about it


def test_docker_compose_passes_the_secret_through_the_environment_only():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        command = service.get("command") or []
        words = command if isinstance(command, list) else command.split()
        assert "--api-secret" not in words, name
        secret = (service.get("environment") or {}).get("STREAM_API_SECRET")
        assert not secret or not any(secret in word for word in words), name
    assert compose["services"]["emulator"]["environment"]["STREAM_API_SECRET"]


@pytest.mark.parametrize("path", sorted((ROOT / "deploy").rglob("*.y*ml")))
def test_deploy_files_hold_no_secret_argument(path):
    assert "--api-secret" not in path.read_text()


def test_the_api_secret_flag_still_works_but_warns(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "STREAM_API_SECRET"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "feed_outbox.emulator", "--port", "0", "--api-secret", SECRET],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening on" in proc.stdout.readline()
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert "STREAM_API_SECRET" in err and SECRET not in err
