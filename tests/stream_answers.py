"""The error answers the real Stream service gives, as docs/topics/stream-errors.md records them.

The emulator's tests assert it answers these; the relay's tests replay them from a raw
stand-in server, so a drift of the emulator cannot hide a misclassification. ``exact`` says
whether a source gives the detail word for word (otherwise the detail is the emulator's
documented-looking choice and only status, code and exception are held to the source).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RealAnswer:
    status: int
    code: int
    exception: str
    detail: str
    exact: bool
    source: str

    def body(self) -> dict:
        # the keys and their order of a real answer (GetStream/stream-go2#98)
        return {
            "detail": self.detail,
            "status_code": self.status,
            "code": self.code,
            "exception": self.exception,
            "duration": "0.00ms",
        }


NO_POLICY = (
    "You do not have permission to do this, you got this error because there are no policies "
    "allowing this request on this application. Please consult the documentation "
    "https://getstream.io/docs/"
)

ANSWERS = {
    "wrong_secret": RealAnswer(
        403,
        17,
        "NotAllowedException",
        "signature is invalid",
        True,
        "GetStream/stream-go2#98 (whole body), GetStream/stream-django#79",
    ),
    "malformed_token": RealAnswer(
        403,
        17,
        "NotAllowedException",
        "token contains an invalid number of segments",
        True,
        "GetStream/stream-java#84",
    ),
    "token_out_of_scope": RealAnswer(
        403,
        17,
        "NotAllowedException",
        NO_POLICY,
        True,
        "GetStream/stream-js test/integration/cloud/personalized_feed.js",
    ),
    "missing_api_key": RealAnswer(
        401, 2, "ApiKeyException", "api_key is missing", True, "GetStream/stream-laravel#53"
    ),
    "unknown_api_key": RealAnswer(
        401,
        2,
        "ApiKeyException",
        "api_key not found",
        False,
        "Stream docs, API Error Responses (401/2); stream-python test_api_key_exception",
    ),
    "suspended_app": RealAnswer(
        401,
        7,
        "SiteSuspendedException",
        "The app is suspended",
        False,
        "Stream docs, API Error Responses (401/7); stream-python exceptions.py",
    ),
    "unknown_feed_group": RealAnswer(
        400,
        6,
        "FeedConfigException",
        "The following feeds are not configured: 'nosuchgroup'. This could be the cause of a "
        "typo, but otherwise you should configure them on the dashboard of this app.",
        True,
        "GetStream/stream-rails#64, GetStream/stream-django#24",
    ),
    "rate_limited": RealAnswer(
        429,
        9,
        "RateLimitReached",
        "Too many requests, check response headers for more information.",
        False,
        "Stream docs, API Error Responses and Rate Limits (429/9)",
    ),
    "body_too_large": RealAnswer(
        413,
        18,
        "RequestTooLarge",
        "Input body size limit exceeded",
        False,
        "Stream docs, API Error Responses (413/18); GetStream/stream-ruby#26 (exception name)",
    ),
}
