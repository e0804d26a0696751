"""What Stream's error codes say about the app's credentials (docs/topics/stream-errors.md has the
answers the real service gives, each with its source), and the feed a failed read names."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from stream import exceptions as stream_exceptions

API_KEY, SIGNATURE, FEED_CONFIG, SITE_SUSPENDED, RATE_LIMITED, NOT_ALLOWED = 2, 3, 6, 7, 9, 17
CREDENTIAL_CODES = frozenset({API_KEY, SIGNATURE, SITE_SUSPENDED})

# Stream verifies tokens with a JWT library and answers 403/17 with that library's message
# (GetStream/stream-django#79, stream-go2#98, stream-java#84), not code 3. A server-side client
# signs every token itself with the configured secret, so a token Stream cannot verify means
# the secret (or the clock) is wrong, never the request's data.
TOKEN_PROBLEMS = (
    "signature is invalid",
    "token contains an invalid number of segments",
    "token is expired",
    "token is not valid yet",
    "token used before issued",
    "token is malformed",
    "no token present",
    "signing method",
    "illegal base64",
)


def names_a_bad_token(code: int | None, detail: str) -> bool:
    """A 17 NotAllowed answer about the token itself (rather than about what it allows)."""
    return code == NOT_ALLOWED and any(p in detail.lower() for p in TOKEN_PROBLEMS)


def refuses_credentials(exc: BaseException) -> bool:
    """Whether stream-python's exception says the key, the secret or the app is refused."""
    if not isinstance(exc, stream_exceptions.StreamApiException):
        return False
    code = getattr(exc, "code", None)
    detail = str(getattr(exc, "detail", "") or exc)
    return code in CREDENTIAL_CODES or names_a_bad_token(code, detail)


@contextmanager
def reading(feed_id: str) -> Iterator[None]:
    """A read's failure names the feed it read, sync or async: a note (PEP 678) on the client's
    own exception, whose class and message stay what the client raised."""
    try:
        yield
    except Exception as exc:
        exc.add_note(f"while reading the Stream feed {feed_id}")
        raise
