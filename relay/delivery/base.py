"""The delivery interface: what the relay needs from a Stream API to deliver claimed events.

Everything else — claiming, leases, order, retries, dead letters, configuration pauses,
rate-limit pacing — is the relay's and the same for every API. A delivery only says how
events become requests, how one request is made, and how its failures read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from relay.answers import Answer
    from relay.calls import Call
    from relay.events import Event

#: Observes every HTTP response of a client: ``(status, headers)``-bearing response objects.
ResponseObserver = Callable[[Any], None]


class Delivery(Protocol):
    """One Stream API as the relay sees it (v2: relay.delivery.v2, v3: relay.delivery.v3).

    Reading a failure (``answer_of``, ``unanswered``, ``may_still_land``) needs no client:
    those are static, and relay.delivery asks each API's in turn.
    """

    #: "v2" or "v3": the value of OutboxEvent.api this delivery claims.
    api: str

    def build_client(self) -> Any:
        """The client a pool thread sends with: v2's a new one per thread (its own HTTP
        session), v3's one shared by every thread (an httpx pool, relay.delivery.v3)."""

    def close(self) -> None:
        """Close the clients ``build_client`` made, once no thread sends with them (the pool
        shut down and waited): a connection left to the garbage collector is a
        ResourceWarning, an error in a user's suite run with ``-W error``."""

    def observe_responses(self, client: Any, observe: ResponseObserver) -> None:
        """Call ``observe(response)`` after every HTTP response of ``client`` (rate-limit
        headers, the raw body of an error answer)."""

    def plan_calls(self, events: Sequence[Event]) -> list[Call]:
        """Group a claimed batch into requests, in the order of each group's oldest event;
        each call names the rate-limit bucket of its first request."""

    def send(self, client: Any, call: Call, pace: Callable[[str], None]) -> None:
        """Make the request(s) of ``call``, calling ``pace(bucket)`` before each; raises what
        the client raises (relay.retry classifies it)."""

    def rate_limited(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a 429: the pool waits for the window and sends again."""

    def keep_raw_answer(self, exc: BaseException, response: Any) -> None:
        """Attach the last error response to ``exc`` where the client dropped its body."""

    @staticmethod
    def answer_of(exc: BaseException) -> Answer | None:
        """The error answer ``exc`` carries, with what this API's codes say about it (None
        when ``exc`` is no answer of this API's client)."""

    @staticmethod
    def unanswered(exc: BaseException) -> bool:
        """Whether ``exc`` is this API's client failing to get an answer (network, timeout)."""

    @staticmethod
    def may_still_land(exc: BaseException) -> bool:
        """Of an ``unanswered`` failure: whether the request left, so Stream may still apply
        it (a read timeout may; a connection never made may not)."""
