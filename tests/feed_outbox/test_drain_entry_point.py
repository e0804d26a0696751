"""``feed_outbox.testing.drain_outbox`` runs the drain registered under the ``feed_outbox.drain``
entry point (the relay's), so that feed_outbox never imports the relay."""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint, EntryPoints
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

import feed_outbox.testing as testing

ROOT = Path(__file__).resolve().parents[2]


def drain(using, batch_size, **overrides):
    return ("drained", using, batch_size, overrides)


@pytest.fixture
def registered(monkeypatch):
    """Stand in for the installed packages' entry points (the installed metadata may be an
    older checkout's until it is reinstalled)."""

    def register(*values: str) -> None:
        points = EntryPoints(
            EntryPoint(f"drain{n}", value, testing.DRAIN_GROUP) for n, value in enumerate(values)
        )
        monkeypatch.setattr(
            testing, "entry_points", lambda group: points if group == testing.DRAIN_GROUP else ()
        )
        testing.registered_drain.cache_clear()

    yield register
    testing.registered_drain.cache_clear()


def test_pyproject_registers_the_relays_drain():
    import relay.testing

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    value = project["entry-points"][testing.DRAIN_GROUP]["relay"]
    assert EntryPoint("relay", value, testing.DRAIN_GROUP).load() is relay.testing.drain_outbox


def test_drain_outbox_runs_the_registered_drain_with_its_arguments(registered):
    registered(f"{__name__}:drain")
    answer = testing.drain_outbox("other", 7, timeout=3)
    assert answer == ("drained", "other", 7, {"timeout": 3})


def test_without_a_registered_drain_the_error_names_the_relay(registered):
    registered()
    with pytest.raises(ImproperlyConfigured, match="needs the relay.*feed_outbox.drain"):
        testing.drain_outbox()


def test_two_registered_drains_are_an_error_naming_both(registered):
    registered(f"{__name__}:drain", "relay.testing:drain_outbox")
    with pytest.raises(ImproperlyConfigured, match="several drains.*drain0.*drain1"):
        testing.drain_outbox()
