"""How claimed events reach one Stream API: the narrow interface and its v2 and v3 forms.

``delivery_for("v2" | "v3")`` returns the implementation; the relay's loop, claim, retry and
pacing code only ever speaks to a ``Delivery`` (relay.delivery.base). A failure is read by
the delivery whose client raised it (``answer_of``, ``unanswered``, ``may_still_land``), so
relay.retry decides on it without knowing the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from relay.delivery.base import Delivery

if TYPE_CHECKING:
    from relay.answers import Answer


def delivery_for(api: str, client_factory: Callable[[], Any] | None = None) -> Delivery:
    """The delivery of ``api``; ``client_factory`` replaces how its client is built (tests)."""
    if api == "v2":
        from relay.delivery.v2 import V2Delivery

        return V2Delivery(client_factory)
    if api == "v3":
        from relay.delivery.v3 import V3Delivery

        return V3Delivery(client_factory)
    raise ValueError(f"unknown Stream API {api!r}: use 'v2' or 'v3'")


def _deliveries() -> tuple[type[Delivery], ...]:
    # Neither loads the other API's client library: v3's module looks the SDK's exceptions
    # up rather than importing them (a v2 relay must not pay the SDK's import on a failure,
    # while a late write may land).
    from relay.delivery.v2 import V2Delivery
    from relay.delivery.v3 import V3Delivery

    return (V2Delivery, V3Delivery)


def answer_of(exc: BaseException) -> Answer | None:
    """The error answer behind ``exc``, read by the delivery whose client raised it."""
    for delivery in _deliveries():
        answer = delivery.answer_of(exc)
        if answer is not None:
            return answer
    return None


def unanswered(exc: BaseException) -> bool:
    """Whether ``exc`` is a Stream request that got no answer (the network, a timeout)."""
    return any(delivery.unanswered(exc) for delivery in _deliveries())


def may_still_land(exc: BaseException) -> bool:
    """Whether an ``unanswered`` request may have reached Stream (it was sent)."""
    return any(d.unanswered(exc) and d.may_still_land(exc) for d in _deliveries())


__all__ = ["Delivery", "answer_of", "delivery_for", "may_still_land", "unanswered"]
