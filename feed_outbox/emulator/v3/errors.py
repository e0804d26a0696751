"""Feeds v3 error answers: ``{"code", "message", "StatusCode", "duration", ...}``.

The shape is the SDK's APIError model (getstream/models: code, duration, message, more_info,
StatusCode, details, unrecoverable, exception_fields); codes and statuses are Stream's shared
API error codes (getstream.io chat/feeds "API error codes" pages): 2 API key, 4 input, 5
authentication, 9 rate limit, 16 does not exist, 17 not allowed, 43 token signature.
"""

from __future__ import annotations

from typing import Any

INTERNAL, ACCESS_KEY, INPUT, AUTHENTICATION, RATE_LIMIT = -1, 2, 4, 5, 9
DOES_NOT_EXIST, NOT_ALLOWED, APP_SUSPENDED, TOKEN_SIGNATURE = 16, 17, 99, 43
_STATUS = {
    INTERNAL: 500,
    ACCESS_KEY: 401,
    INPUT: 400,
    AUTHENTICATION: 401,
    RATE_LIMIT: 429,
    DOES_NOT_EXIST: 404,
    NOT_ALLOWED: 403,
    APP_SUSPENDED: 401,
    TOKEN_SIGNATURE: 401,
}
MORE_INFO = "https://getstream.io/chat/docs/api_errors_response"


class V3Error(Exception):
    def __init__(
        self,
        code: int,
        message: str,
        status: int | None = None,
        fields: dict[str, str] | None = None,
        unrecoverable: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS.get(code, 500)
        self.fields = fields or {}
        self.unrecoverable = unrecoverable

    def body(self, duration: str) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "exception_fields": self.fields,
            "StatusCode": self.status,
            "duration": duration,
            "more_info": MORE_INFO,
            "details": [],
            "unrecoverable": self.unrecoverable,
        }


def input_error(field: str, problem: str) -> V3Error:
    return V3Error(INPUT, f'{field}: {problem}', fields={field: problem})


def not_found(what: str) -> V3Error:
    return V3Error(DOES_NOT_EXIST, f"{what} does not exist")
