"""The emulator refuses forged and mis-scoped tokens (built with PyJWT), and applies nothing."""

from __future__ import annotations

import json

import jwt
import pytest
import requests

from feed_outbox.testing.plugin import EMULATOR_KEY, EMULATOR_SECRET

ACTIVITY = {"actor": "auth.User:1", "verb": "tweet", "object": "x:1", "foreign_id": "x:1"}


def token(payload: dict, secret: str = EMULATOR_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=algorithm)


def add_activity(emulator, auth: str | None, feed=("user", "1"), key: str = EMULATOR_KEY):
    headers = {"stream-auth-type": "jwt", "Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    return requests.post(
        f"{emulator.url}/api/v1.0/feed/{feed[0]}/{feed[1]}/",
        params={"api_key": key},
        data=json.dumps(ACTIVITY),
        headers=headers,
        timeout=5,
    )


WRITE_USER1 = {"resource": "feed", "action": "write", "feed_id": "user1"}

REFUSED = {
    "signed with another secret": token(WRITE_USER1, secret="guessed-secret"),
    "signed with the api key": token(WRITE_USER1, secret=EMULATOR_KEY),
    "unsigned (alg none)": jwt.encode(WRITE_USER1, None, algorithm="none"),
    "HS512 instead of HS256": token(WRITE_USER1, algorithm="HS512"),
    "payload tampered after signing": ".".join(
        [
            token(WRITE_USER1).split(".")[0],
            jwt.utils.base64url_encode(
                json.dumps({**WRITE_USER1, "feed_id": "*"}).encode()
            ).decode(),
            token(WRITE_USER1).split(".")[2],
        ]
    ),
    "another feed": token({**WRITE_USER1, "feed_id": "user2"}),
    "read-only action": token({**WRITE_USER1, "action": "read"}),
    "another resource": token({**WRITE_USER1, "resource": "follower"}),
    "no scope at all": token({}),
    "Bearer prefix is not the client's format": "Bearer garbage",
    "not a JWT": "garbage",
    "empty": "",
}


@pytest.mark.parametrize("auth", REFUSED.values(), ids=REFUSED.keys())
def test_forged_or_mis_scoped_tokens_are_refused_and_nothing_is_written(stream_emulator, auth):
    response = add_activity(stream_emulator, auth)

    assert response.status_code in (401, 403), response.text
    body = response.json()
    assert body["exception"] and body["code"] in (3, 17)
    assert EMULATOR_SECRET not in response.text
    assert stream_emulator.request_log() == []


def test_missing_token_and_wrong_key_are_refused(stream_emulator):
    # no token: 403/17 like every token Stream cannot verify (docs/topics/stream-errors.md)
    missing = add_activity(stream_emulator, None)
    assert missing.status_code == 403 and missing.json()["code"] == 17
    response = add_activity(stream_emulator, token(WRITE_USER1), key="someone-elses-key")
    assert response.status_code == 401 and response.json()["code"] == 2
    assert stream_emulator.request_log() == []


@pytest.mark.parametrize(
    "payload",
    [
        WRITE_USER1,
        {**WRITE_USER1, "feed_id": "*"},
        {"resource": "*", "action": "*", "feed_id": "*"},
    ],
    ids=["exact scope", "any feed", "wildcard"],
)
def test_a_token_whose_scope_covers_the_call_is_accepted(stream_emulator, payload):
    # The control: the refusals above are about the token, not a broken request.
    response = add_activity(stream_emulator, token(payload))
    assert response.status_code == 201 or response.status_code == 200, response.text
    assert [row["op"] for row in stream_emulator.request_log()] == ["add_activity"]
