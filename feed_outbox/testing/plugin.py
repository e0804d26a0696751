"""pytest plugin (entry point ``feed_outbox``): the Stream emulator and outbox drain fixtures.

* ``stream_emulator``: an emulator (started once per session, emptied for each test) with
  STREAM_API_KEY/STREAM_API_SECRET/STREAM_BASE_URL pointing the client at it.
* ``outbox_drain``: a function that publishes the outbox synchronously and returns its stats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from feed_outbox.testing import EMULATOR_KEY, EMULATOR_SECRET

if TYPE_CHECKING:
    from feed_outbox.emulator import Emulator


@pytest.fixture(scope="session")
def stream_emulator_server() -> Iterator[Emulator]:
    from feed_outbox.testing import start_emulator

    emulator = start_emulator(EMULATOR_KEY, EMULATOR_SECRET)
    yield emulator
    emulator.stop()


@pytest.fixture
def stream_emulator(stream_emulator_server: Emulator) -> Iterator[Emulator]:
    from feed_outbox.testing import stream_settings

    stream_emulator_server.reset()
    with stream_settings(stream_emulator_server):
        yield stream_emulator_server


@pytest.fixture
def outbox_drain(stream_emulator: Emulator) -> Callable[..., Any]:
    from feed_outbox.testing import drain_outbox

    return drain_outbox
