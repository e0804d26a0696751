"""v3 authentication: ``api_key`` in the query, a JWT signed with the app secret in the
``Authorization`` header (raw, no "Bearer"), ``stream-auth-type: jwt``.

A server-side token (what ``getstream.Stream(api_key, api_secret)`` signs: an empty claim set)
may do anything; a user token (``user_id`` claim, from ``create_token``) is refused by the
server-only endpoints the relay uses.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import jwt

from .errors import ACCESS_KEY, AUTHENTICATION, NOT_ALLOWED, TOKEN_SIGNATURE, V3Error


class V3Auth:
    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._verified: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"V3Auth(api_key={self.api_key!r})"

    def check(self, api_key: str | None, token: str | None, auth_type: str | None) -> dict:
        if not api_key:
            raise V3Error(ACCESS_KEY, "api_key not found")
        if api_key != self.api_key:
            raise V3Error(ACCESS_KEY, f"api_key {api_key} not valid")
        if (auth_type or "jwt").lower() != "jwt":
            raise V3Error(AUTHENTICATION, "stream-auth-type must be jwt on server-side calls")
        if not token:
            raise V3Error(AUTHENTICATION, "JWTAuth error: token is missing")
        payload = self._verified.get(token)
        if payload is None:
            payload = self._decode(token)
        exp = payload.get("exp")
        if isinstance(exp, (int, float)) and exp < time.time():
            raise V3Error(40, "JWTAuth error: token has expired", status=401)
        return payload

    def require_server(self, payload: dict) -> None:
        if payload.get("user_id"):
            raise V3Error(
                NOT_ALLOWED,
                f"user {payload['user_id']!r} is not allowed to perform this server-side action",
            )

    def _decode(self, token: str) -> dict:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # short test secrets
                payload = jwt.decode(
                    token, self._secret, algorithms=["HS256"], options={"verify_exp": False}
                )
        except jwt.InvalidSignatureError:
            raise V3Error(
                TOKEN_SIGNATURE, "JWTAuth error: signature is not valid. Make sure the token is "
                "created using the secret for the API key", status=401
            ) from None
        except jwt.PyJWTError as exc:
            raise V3Error(AUTHENTICATION, f"JWTAuth error: token is malformed: {exc}") from None
        if not isinstance(payload, dict):
            raise V3Error(AUTHENTICATION, "JWTAuth error: the token's claims are not an object")
        if len(self._verified) > 1000:
            self._verified.clear()
        self._verified[token] = payload
        return payload
