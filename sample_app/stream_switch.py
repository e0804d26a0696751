"""The demo's Stream switch: staff stop and start the demo's Stream emulator from the web app.

Under ``make demo`` the launcher (``sample_app.demo``) owns the emulator process and sets
``DEMO_CONTROL_DIR``; the web app writes ``stream.request`` there ("stop" or "start"), the
launcher acts on it and writes ``stream.state``. Files, not a port: nothing listens for them,
and outside the demo (no DEMO_CONTROL_DIR) the switch does not exist.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ACTIONS = {"stop": "stopped", "start": "running"}


def control_dir() -> Path | None:
    value = os.environ.get("DEMO_CONTROL_DIR")
    return Path(value) if value else None


def state(directory: Path | None = None) -> str | None:
    """ "running" or "stopped"; None outside the demo."""
    directory = directory or control_dir()
    if directory is None:
        return None
    try:
        return (directory / "stream.state").read_text().strip() or None
    except FileNotFoundError:
        return None


def ask(action: str, timeout: float = 20.0) -> bool:
    """Ask the launcher to ``stop`` or ``start`` Stream; True once it reports having done so."""
    directory = control_dir()
    if directory is None or action not in ACTIONS:
        return False
    _write(directory / "stream.request", action)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state(directory) == ACTIONS[action] and not (directory / "stream.request").exists():
            return True
        time.sleep(0.1)
    return False


# -- the launcher's side ------------------------------------------------------------------


def take_request(directory: Path) -> str | None:
    path = directory / "stream.request"
    try:
        action = path.read_text().strip()
    except FileNotFoundError:
        return None
    return action if action in ACTIONS else None


def done(directory: Path, action: str) -> None:
    _write(directory / "stream.state", ACTIONS[action])
    (directory / "stream.request").unlink(missing_ok=True)


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)  # atomic: the other side never reads half a word
