"""Settings of the chaos suite's writer and relay processes: tests.settings, tuned from the environment.

Faults are only worth injecting if their consequences show within a bounded run, so leases,
client timeouts and the dead-letter threshold are shortened here, never in the product.
"""

import os

from tests.settings import *  # noqa: F403

STREAM_TIMEOUT = float(os.environ.get("CHAOS_STREAM_TIMEOUT", "2"))
FEED_OUTBOX_LEASE_SECONDS = float(os.environ.get("CHAOS_LEASE_SECONDS", "8"))
FEED_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("CHAOS_MAX_ATTEMPTS", "4"))
# The emulator's injected latency stays under a second: no request lands later than that.
FEED_OUTBOX_LANDING_SECONDS = float(os.environ.get("CHAOS_LANDING_SECONDS", "1"))
