"""The emulated Stream Feeds v3 API (`/api/v2/feeds/...`, what the `getstream` SDK calls).

Served by the same server as the v2 emulation, with its own store: v3 activities are keyed by
an explicit id, live in several feeds at once, and feeds, users and follows are first-class
objects, which v2's store does not model. Faults (latency, 5xx, lost answers, rate limits,
a suspended app) are the server's and apply to both.
"""

from .service import V3Service

__all__ = ["V3Service"]
