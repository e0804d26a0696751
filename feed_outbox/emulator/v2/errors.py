"""Stream API errors: the exception a handler raises and the JSON body the client decodes."""

from __future__ import annotations

from typing import Any

# code -> (exception name, HTTP status), as Stream answers them (docs/topics/stream-errors.md has
# the source of each; stream-python's exceptions.py picks its classes by these codes).
_KINDS: dict[int, tuple[str, int]] = {
    -1: ("StreamApiException", 500),
    1: ("StreamApiException", 500),
    2: ("ApiKeyException", 401),
    3: ("SignatureException", 401),
    4: ("InputException", 400),
    5: ("CustomFieldException", 400),
    6: ("FeedConfigException", 400),
    7: ("SiteSuspendedException", 401),
    8: ("InvalidPaginationException", 400),
    9: ("RateLimitReached", 429),
    16: ("DoesNotExistException", 404),
    17: ("NotAllowedException", 403),
    18: ("RequestTooLarge", 413),
}

# The real service's wording where a source gives it (docs/topics/stream-errors.md).
SIGNATURE_INVALID = "signature is invalid"
TOKEN_SEGMENTS = "token contains an invalid number of segments"
NO_TOKEN = "no token present in request"
API_KEY_MISSING = "api_key is missing"
API_KEY_UNKNOWN = "api_key not found"
SITE_SUSPENDED = "The app is suspended"
NO_POLICY = (
    "You do not have permission to do this, you got this error because there are no policies "
    "allowing this request on this application. Please consult the documentation "
    "https://getstream.io/docs/"
)
BODY_TOO_LARGE = "Input body size limit exceeded"
RATE_LIMITED = "Too many requests, check response headers for more information."


class ApiError(Exception):
    """An error answered to the client with Stream's error body."""

    def __init__(
        self,
        code: int,
        detail: str,
        fields: dict[str, list[str]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.exception, default_status = _KINDS.get(code, ("StreamApiException", 500))
        self.status = status or default_status
        self.detail = detail
        self.fields = fields

    def body(self) -> dict[str, Any]:
        # Key order and keys of the real answer (GetStream/stream-go2#98); the server appends
        # "duration". exception_fields only where there are fields: the client prefers them
        # over detail for its message.
        body: dict[str, Any] = {
            "detail": self.detail,
            "status_code": self.status,
            "code": self.code,
            "exception": self.exception,
        }
        if self.fields is not None:
            body["exception_fields"] = self.fields
        return body


def input_error(field: str, message: str) -> ApiError:
    """InputException naming the offending field, as Stream's validation does."""
    return ApiError(4, f"{field}: {message}", {field: [message]})


def not_found(what: str) -> ApiError:
    return ApiError(16, f"{what} does not exist")


def not_allowed(detail: str = NO_POLICY) -> ApiError:
    return ApiError(17, detail)


def go_duration(seconds: int) -> str:
    """A whole number of seconds as Go prints a time.Duration ("1h2m3s", "4m0s", "5s"): the
    JWT library behind Stream says "token is expired by <duration>"."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
