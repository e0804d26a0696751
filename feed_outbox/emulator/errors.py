"""Stream API errors: the exception a handler raises and the JSON body the client decodes."""

from __future__ import annotations

from typing import Any

# code -> (exception name the client maps, HTTP status); codes from stream-python's exceptions.py
_KINDS: dict[int, tuple[str, int]] = {
    1: ("StreamApiException", 500),
    2: ("ApiKeyException", 401),
    3: ("SignatureException", 401),
    4: ("InputException", 400),
    5: ("CustomFieldException", 400),
    6: ("FeedConfigException", 400),
    8: ("InvalidPaginationException", 400),
    9: ("RateLimitReached", 429),
    16: ("DoesNotExistException", 404),
    17: ("NotAllowedException", 403),
}


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
        return {
            "code": self.code,
            "detail": self.detail,
            "exception": self.exception,
            # the client prefers exception_fields over detail for its message
            "exception_fields": self.fields,
            "status_code": self.status,
        }


def input_error(field: str, message: str) -> ApiError:
    """InputException naming the offending field, as Stream's validation does."""
    return ApiError(4, f"{field}: {message}", {field: [message]})


def not_found(what: str) -> ApiError:
    return ApiError(16, f"{what} does not exist")


def not_allowed(detail: str) -> ApiError:
    return ApiError(17, detail)
