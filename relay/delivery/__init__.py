"""How claimed events reach one Stream API: the narrow interface and its v2 and v3 forms.

``delivery_for("v2" | "v3")`` returns the implementation; the relay's loop, claim, retry and
pacing code only ever speaks to a ``Delivery`` (relay.delivery.base).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relay.delivery.base import Delivery


def delivery_for(api: str, client_factory: Callable[[], Any] | None = None) -> Delivery:
    """The delivery of ``api``; ``client_factory`` replaces how its client is built (tests)."""
    if api == "v2":
        from relay.delivery.v2 import V2Delivery

        return V2Delivery(client_factory)
    if api == "v3":
        from relay.delivery.v3 import V3Delivery

        return V3Delivery(client_factory)
    raise ValueError(f"unknown Stream API {api!r}: use 'v2' or 'v3'")


__all__ = ["Delivery", "delivery_for"]
