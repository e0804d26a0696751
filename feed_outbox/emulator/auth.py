"""Request authentication: api_key, HS256 JWT signature, and token scope (resource/action/feed)."""

from __future__ import annotations

import warnings
from typing import Any

import jwt

from .errors import ApiError

_ACTIONS = {"GET": "read", "POST": "write", "PUT": "write", "DELETE": "delete"}
_CACHE_LIMIT = 10_000


class Authenticator:
    """Checks the credentials of a call; the secret never leaves this object."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self._secret = api_secret
        # verified token -> payload: a token is checked once, not on every request
        self._verified: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"Authenticator(api_key={self.api_key!r})"

    def check_key(self, api_key: str | None) -> None:
        if api_key != self.api_key:
            raise ApiError(2, "api_key not found" if api_key else "api_key is missing")

    def decode(self, token: str | None) -> dict[str, Any]:
        if not token:
            raise ApiError(3, "Authorization header is missing")
        payload = self._verified.get(token)
        if payload is not None:
            return payload
        try:
            with warnings.catch_warnings():
                # short secrets are the app's choice; PyJWT's key-length warning is noise here
                warnings.simplefilter("ignore")
                payload = jwt.decode(
                    token, self._secret, algorithms=["HS256"], options={"verify_aud": False}
                )
        except jwt.InvalidSignatureError:
            raise ApiError(
                3, "signature is invalid: the token was not signed with this app's secret"
            ) from None
        except jwt.PyJWTError as exc:
            raise ApiError(3, f"the authorization token is invalid: {exc}") from None
        if not isinstance(payload, dict):
            raise ApiError(3, "the authorization token payload must be an object")
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = payload
        return payload

    def authorize(
        self, token: str | None, resource: str, method: str, feed_id: str | None
    ) -> dict[str, Any]:
        """Verify `token` and that its scope covers `resource`/`method` on `feed_id` (slug:id)."""
        payload = self.decode(token)
        action = _ACTIONS.get(method, "write")
        granted_resource = payload.get("resource")
        if granted_resource not in ("*", resource):
            raise ApiError(
                17,
                f"You don't have permission to do this: the token's resource "
                f"{granted_resource!r} does not cover {resource!r}",
            )
        granted_action = payload.get("action")
        if granted_action not in ("*", action):
            raise ApiError(
                17,
                f"You don't have permission to do this: the token's action "
                f"{granted_action!r} does not cover {action!r}",
            )
        wanted = "*" if feed_id is None else feed_id.replace(":", "")
        granted_feed = payload.get("feed_id")
        if granted_feed != "*" and granted_feed != wanted:
            raise ApiError(
                17,
                f"You don't have permission to do this: the token's feed_id "
                f"{granted_feed!r} does not cover {wanted!r}",
            )
        return payload

    def check_feed_token(self, feed_id: str, token: str, field: str) -> None:
        """A `to` target or follow target token must be a valid token for that feed."""
        try:
            self.authorize(token, "feed", "GET", feed_id)
        except ApiError as exc:
            raise ApiError(
                exc.code, f"{field}: token for {feed_id} rejected: {exc.detail}", status=exc.status
            ) from None
