"""The retry policy: what a failed Stream call means, and what the relay does about it.

``decide()`` is the one decision (retry after a delay, dead-letter, release, or pause for a
configuration error), returned as a value the runner applies (procrastinate's
``RetryStrategy.get_retry_decision()`` is the model). The answers the classes are chosen for,
with their sources: docs/topics/stream-errors.md.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from feed_outbox import conf
from feed_outbox.stream_api.errors import NOT_ALLOWED, RATE_LIMITED
from relay import delivery
from relay.answers import Answer
from relay.exceptions import LeaseExpiring


class Failure(enum.Enum):
    RETRYABLE = "retryable"  # timeouts, connection errors, 5xx, 429: try again later
    PERMANENT = "permanent"  # Stream rejects the event's own data: dead-letter after N tries
    CONFIGURATION = "configuration"  # bad key/secret, suspended app: pause, dead-letter nothing
    # An answer Stream does not document (unknown code, unexpected 4xx): retried, but
    # dead-lettered with its raw answer after N tries, never retried forever without a signal.
    UNRECOGNISED = "unrecognised"


BOUNDED = frozenset({Failure.PERMANENT, Failure.UNRECOGNISED})  # dead-lettered after N tries


class Action(enum.Enum):
    RETRY = "retry"  # back to pending after ``delay``; its key waits meanwhile
    DEAD = "dead"  # dead-lettered with its error
    RELEASE = "release"  # given back untouched, the attempt refunded (nothing was sent)
    PAUSE = "pause"  # released, and the relay pauses: the app's configuration is wrong


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff: float = 0.5  # base of the exponential backoff, in seconds
    landing_seconds: float = 0.0  # how long a request that got no answer may still land


@dataclass(frozen=True)
class Decision:
    action: Action
    message: str  # describe(error): for the log and the outbox's last_error
    failure: Failure
    delay: float = 0.0  # seconds before a retry
    key: tuple | None = None  # the answer a pause is for (answer_key)


def decide(
    error: BaseException, attempts: int, policy: RetryPolicy, shared: bool = False
) -> Decision:
    """What to do with an event whose ``attempts``-th try failed with ``error``.

    ``shared``: every event met this answer, so it is the app's configuration (see
    ``shared_configuration_failure``), not the event's.
    """
    failure = Failure.CONFIGURATION if shared else classify(error)
    message = describe(error)
    if isinstance(error, LeaseExpiring):
        return Decision(Action.RELEASE, message, failure)
    if failure is Failure.CONFIGURATION:
        answer = delivery.answer_of(error)
        if answer is not None and answer.remedy:
            message = f"{message}; {answer.remedy}"
        return Decision(Action.PAUSE, message, failure, key=answer_key(error))
    if failure in BOUNDED and attempts >= policy.max_attempts:
        return Decision(Action.DEAD, message, failure)
    delay = retry_delay(error, attempts, policy.backoff, policy.landing_seconds)
    return Decision(Action.RETRY, message, failure, delay)


def shared_configuration_failure(
    errors: Sequence[BaseException], claimed: int, paused_for: tuple | None = None
) -> bool:
    """Whether an answer that can mean either the event's fault or the app's configuration
    (see ``may_mean_configuration``) is the app's: every event of a batch of several met it,
    or it is the answer the relay is paused for (``paused_for``), met again by the probe."""
    if not errors or not may_mean_configuration(errors[0]):
        return False
    keys = {answer_key(error) for error in errors}
    if len(keys) != 1:
        return False
    every_event = claimed >= 2 and len(errors) == claimed
    return every_event or (paused_for is not None and keys == {paused_for})


def classify(exc: BaseException) -> Failure:
    """The class of one failure, from the answer alone (see ``may_mean_configuration`` for
    answers whose meaning depends on whether every event meets them)."""
    if isinstance(exc, ImproperlyConfigured):  # no credentials: no event can go out
        return Failure.CONFIGURATION
    if isinstance(exc, LeaseExpiring):
        return Failure.RETRYABLE
    if delivery.unanswered(exc):  # no answer at all: the network, a timeout
        return Failure.RETRYABLE
    answer = delivery.answer_of(exc)
    if answer is not None:
        return _classify_answer(answer)
    # A bug or bad payload on our side: retrying will not fix it.
    return Failure.PERMANENT


def _classify_answer(answer: Answer) -> Failure:
    """The class of an answer, from what its API's codes say (relay.delivery reads them)."""
    if answer.refuses_credentials:
        return Failure.CONFIGURATION
    if answer.unknown_feed_groups & conf.configured_feed_slugs():
        # A group the settings name is missing from the app: every such event would fail.
        return Failure.CONFIGURATION
    if answer.code == RATE_LIMITED or answer.status == 429 or answer.status >= 500:
        return Failure.RETRYABLE
    if answer.permanent and answer.status < 500:
        return Failure.PERMANENT
    return Failure.UNRECOGNISED


def may_mean_configuration(exc: BaseException) -> bool:
    """Whether an answer that ``classify`` puts on the event can also mean the app's
    configuration is wrong: a 403 NotAllowed (no policy allows what the app's own token asks),
    an unknown 401/403, or a body that is not Stream's at all (a wrong base URL, a proxy).
    The relay pauses on one when every event meets it."""
    answer = delivery.answer_of(exc)
    if answer is None or classify(exc) is Failure.RETRYABLE:
        return False
    if answer.code == NOT_ALLOWED:
        return answer.status == 403
    if answer.status in (401, 403):
        return True
    return not answer.json and 400 <= answer.status < 500


def answer_key(exc: BaseException) -> tuple:
    """Equal for two failures that are the same answer (or the same kind of local error)."""
    answer = delivery.answer_of(exc)
    if answer is None:
        return (type(exc).__name__, str(exc))
    return answer.key


def may_still_land(exc: BaseException) -> bool:
    """Whether Stream may apply the failed request later: it was sent and no answer said no.

    A request that got no answer may have reached Stream (its delivery tells a read timeout
    from a connection never made); a 5xx may come from a gateway in front of a backend still
    working on it. A 4xx, a 429 and a request never sent (LeaseExpiring) cannot land. No
    Stream source says how long a request may stay in flight on its side:
    FEED_OUTBOX_LANDING_SECONDS is our bound.
    """
    if delivery.unanswered(exc):
        return delivery.may_still_land(exc)
    answer = delivery.answer_of(exc)
    return answer is not None and answer.status >= 500


def retry_delay(exc: BaseException, attempt: int, base: float, landing_seconds: float) -> float:
    """Seconds before an event is tried again. An event whose last request may still land is
    held (and with it its key and the events that must follow it) until that request can no
    longer be applied: otherwise a later event of the key (a remove) could be overtaken by
    the late write it follows (late landings)."""
    delay = backoff_seconds(attempt, base=base)
    if may_still_land(exc):
        delay = max(delay, landing_seconds)
    return delay


def describe(exc: BaseException) -> str:
    """A one-line description for logs and the outbox's last_error (never a credential); the
    raw answer is kept when stream-python's reading of it lost something (an unknown code)."""
    name = type(exc).__name__
    answer = delivery.answer_of(exc)
    code = answer.code if answer is not None else getattr(exc, "code", None)
    status = answer.status if answer is not None else getattr(exc, "status_code", None)
    detail = str(exc).strip() or name
    parts = [name]
    if code is not None:
        parts.append(f"code {code}")
    if status:
        parts.append(f"HTTP {status}")
    text = f"{' '.join(parts)}: {detail}"
    if answer is not None and answer.raw:
        text += f" | answer: {' '.join(answer.raw.split())}"
    return _scrub(text)[:2000]


def _scrub(text: str) -> str:
    # Defence in depth: no message Stream or requests produce should hold the secret, but a
    # future one must not put it into logs or the outbox table either, whether the secret came
    # from settings or only from STREAM_URL (which stream-python reads by itself).
    try:
        secrets = conf.stream_secrets()
    except Exception:  # settings not configured (a unit test of describe())
        secrets = []
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[secret]")
    return text


def backoff_seconds(attempt: int, base: float = 0.5, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
    return random.uniform(0, min(cap, base * (2 ** max(attempt - 1, 0))))
