"""Fuzzing every emulator surface with malformed paths, queries, headers and bodies: it always
answers (a status line; strict JSON with a detail on JSON routes) and keeps serving afterwards.

Each surface runs FUZZ_EXAMPLES inputs (environment variable, 200 by default); the numbers
tried are written in pytest's terminal summary (tests/emulator/conftest.py).
"""

from __future__ import annotations

import json
import os
from collections import Counter

import jwt
import pytest
import stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feed_outbox.emulator import Emulator
from feed_outbox.emulator.v2.api import ROUTES as V2_ROUTES
from feed_outbox.emulator.v3.service import ROUTES as V3_ROUTES
from tests.emulator.rawhttp import NoAnswer, exchange

KEY, SECRET = "fuzz-key", "fuzz-secret-0123456789abcdef0123456789abcdef"
V2_TOKEN = jwt.encode({"resource": "*", "action": "*", "feed_id": "*"}, SECRET, algorithm="HS256")
V3_TOKEN = jwt.encode({}, SECRET, algorithm="HS256")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TRIED: Counter[str] = Counter()
DEFAULT_FAULTS = {
    "latency_ms": 0,
    "latency_jitter_ms": 0,
    "error_rate": 0,
    "lost_response_rate": 0,
    "rate_limits": "off",
    "rate_limit_scale": 1,
    "rate_limit_counts": {},
    "suspended": False,
}


@pytest.fixture(scope="module")
def emulator():
    with Emulator(api_key=KEY, api_secret=SECRET, port=0) as emulator:
        yield emulator


# -- pieces of a request ---------------------------------------------------------------------

JUNK_TEXT = st.sampled_from(
    [
        "",
        "%",
        "%zz",
        "%C2%B2",
        "%FF%FE",
        "%00",
        "..",
        "NaN",
        "Infinity",
        "-1",
        "1e999",
        "9" * 400,
        "true",
        "null",
        "[]",
        "{}",
        "a,b",
        ",",
        "user:1",
        "user:",
        ":1",
        "x" * 5000,
        "%E2%80%AE",
        "\u00b2",
        "\u00ff",
        "\u00e9t\u00e9",
    ]
) | st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="#?&= "))
SEGMENT = JUNK_TEXT.map(lambda s: s.replace("/", "%2F")) | st.sampled_from(["user", "1", "x"])
QUERY_KEYS = st.sampled_from(
    [
        "api_key",
        "since",
        "api",
        "limit",
        "offset",
        "id_lt",
        "id_gte",
        "ids",
        "foreign_ids",
        "timestamps",
        "mark_seen",
        "mark_read",
        "keep_history",
        "activity_copy_limit",
        "filter",
        "enrich",
        "user_id",
        "hard_delete",
        "%C2%B2",
        "",
    ]
)
JSON_KEYS = st.sampled_from(
    [
        "actor",
        "verb",
        "object",
        "time",
        "foreign_id",
        "to",
        "target",
        "activities",
        "activity",
        "feeds",
        "changes",
        "id",
        "set",
        "unset",
        "new_targets",
        "added_targets",
        "removed_targets",
        "activity_copy_limit",
        "source",
        "keep_history",
        "type",
        "user_id",
        "custom",
        "ids",
        "filter",
        "limit",
        "next",
        "prev",
        "sort",
        "feed_group_id",
        "feed_id",
        "follows",
        "text",
        "latency_ms",
        "latency_jitter_ms",
        "error_rate",
        "lost_response_rate",
        "rate_limits",
        "rate_limit_scale",
        "rate_limit_counts",
        "suspended",
        "score",
        "add_activity",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats(allow_nan=True, allow_infinity=True)
    | JUNK_TEXT
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(JSON_KEYS | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def bodies(draw) -> bytes:
    """Mostly JSON objects of the fields handlers read, with every kind of damage."""
    value = draw(st.dictionaries(JSON_KEYS, JSON_VALUES, max_size=6) | JSON_VALUES)
    # Python writes NaN, Infinity and huge ints: exactly what a careless client sends
    text = json.dumps(value, allow_nan=True).encode()
    damage = draw(
        st.sampled_from(["none", "none", "truncate", "utf8", "deep", "bytes", "constant", "empty"])
    )
    if damage == "truncate" and text:
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif damage == "utf8":
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]))
            + text[at:]
        )
    elif damage == "deep":
        depth = draw(st.sampled_from([127, 128, 129, 1000, 50_000]))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        text = opener * depth + (b"1" if opener != b"[" else b"") + closer * depth
    elif damage == "bytes":
        text = draw(st.binary(max_size=200))
    elif damage == "constant":
        text = draw(st.sampled_from([b"NaN", b"-Infinity", b"1e400", b'"\\ud800"', b"[1,]"]))
    elif damage == "empty":
        text = b""
    return text


@st.composite
def queries(draw, api_key: bool = True) -> str:
    pairs = draw(st.lists(st.tuples(QUERY_KEYS, JUNK_TEXT), max_size=4))
    if api_key and draw(st.booleans()):
        pairs.append(("api_key", KEY))
    return "&".join(f"{k}={v}" if draw(st.booleans()) else k for k, v in pairs)


@st.composite
def headers(draw, token: str | None) -> dict[str, str]:
    result = {}
    if token is not None:
        result["Authorization"] = draw(
            st.sampled_from([token, token, "Bearer " + token, "", "a.b.c", token[:-3]])
        )
        result["stream-auth-type"] = draw(st.sampled_from(["jwt", "jwt", "anonymous", ""]))
    result["X-Emulator-Control"] = draw(st.sampled_from(["1", "1", "0", ""]))
    if draw(st.booleans()):
        result["Content-Type"] = draw(
            st.sampled_from(["application/json", "text/plain", "multipart/form-data", "x" * 300])
        )
    if draw(st.integers(0, 4)) == 0:
        result["Origin"] = draw(st.sampled_from(["null", "https://attacker.example", ""]))
    extra = draw(
        st.lists(
            st.tuples(st.sampled_from(["X-A", "Accept", "Cookie", "Expect"]), JUNK_TEXT), max_size=2
        )
    )
    result.update((name, value[:1000]) for name, value in extra)
    return result


def _fill(pattern: tuple[str, ...], draw) -> str:
    return "/".join(draw(SEGMENT) if part == "*" else part for part in pattern)


@st.composite
def requests_for(draw, surface: str) -> tuple[bytes, bool, bool]:
    """(raw request, whether the answer is JSON, whether to half-close after sending)."""
    if surface == "v2 API":
        route = draw(st.sampled_from(V2_ROUTES))
        path, token = f"/api/v1.0/{_fill(route.pattern, draw)}/", V2_TOKEN
        method = draw(st.sampled_from([route.method, route.method, "GET", "PATCH", "BREW"]))
    elif surface == "v3 API":
        route = draw(st.sampled_from(V3_ROUTES))
        path, token = "/api/v2/" + _fill(route.pattern, draw), V3_TOKEN
        method = draw(st.sampled_from([route.method, route.method, "GET", "OPTIONS"]))
    else:
        path, method, token = {
            "control": (
                "/_emulator/control",
                draw(st.sampled_from(["GET", "POST", "POST", "PUT"])),
                None,
            ),
            "reset": ("/_emulator/reset", draw(st.sampled_from(["POST", "POST", "GET"])), None),
            "log": ("/_emulator/log", "GET", None),
            "feeds.json": ("/_emulator/feeds.json", "GET", None),
            "inspector": ("/_emulator/", draw(st.sampled_from(["GET", "HEAD", "POST"])), None),
            "stats": ("/_emulator/stats", "GET", None),
        }[surface]
        path += draw(st.sampled_from(["", "", "/", "//", "/%C2%B2", "/../x"]))
    query = draw(queries())
    target = path + ("?" + query if query else "")
    head = [
        f"{method} {target} HTTP/1.1",
        f"Host: {draw(st.sampled_from(['localhost', '127.0.0.1']))}:PORT",
    ]
    head += [f"{k}: {v}" for k, v in draw(headers(token)).items()]
    body = draw(bodies()) if method not in ("GET", "HEAD") or draw(st.integers(0, 5)) == 0 else b""
    wire = draw(st.sampled_from(["exact", "exact", "exact", "short", "bad-length"]))
    half_close = False
    if wire == "short" and body:  # the client promises more than it sends, then stops
        head.append(f"Content-Length: {len(body) + draw(st.integers(1, 100))}")
        half_close = True
    elif wire == "bad-length":
        head.append(
            f"Content-Length: {draw(st.sampled_from(['-1', 'x', '1_0', '+3', '', '99999999999']))}"
        )
        half_close = True
    else:
        head.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + body
    is_json = surface != "inspector"
    return raw, is_json, half_close


@st.composite
def framing(draw) -> tuple[bytes, bool, bool]:
    """Malformed request lines and header blocks, sent whole and then half-closed."""
    line = draw(
        st.sampled_from(
            [
                "GET / HTTP/1.1",
                "GET /_emulator/stats HTTP/1.0",
                "GET  HTTP/1.1",
                "GET /",
                "",
                "GET /x HTTP/2.0",
                "\x00\x01 / HTTP/1.1",
                "GET /a b HTTP/1.1",
                "G\u00ffT / HTTP/1.1",
            ]
        )
        | st.text(st.characters(min_codepoint=0, max_codepoint=0xFF, exclude_characters="\r\n"))
    )
    header_lines = draw(
        st.lists(
            st.sampled_from(
                [
                    "Host: localhost:PORT",
                    "no colon here",
                    ": empty name",
                    "Host:",
                    "Host: a:b:c",
                    "Transfer-Encoding: chunked",
                    "Content-Length: 5",
                    "Content-Length: 1, 2",
                    "Connection: keep-alive",
                    "X-Big: " + "x" * 70_000,
                    "\tfolded: value",
                ]
            )
            | st.text(
                st.characters(min_codepoint=0, max_codepoint=0xFF, exclude_characters="\r\n")
            ),
            max_size=5,
        )
    )
    ending = draw(st.sampled_from(["\r\n\r\n", "\r\n\r\n12345", "\r\n", "", "\n\n"]))
    raw = (line + "".join("\r\n" + h for h in header_lines) + ending).encode("latin-1")
    return raw, True, True


def _check(emulator, surface: str, case: tuple[bytes, bool, bool]) -> None:
    raw, is_json, half_close = case
    TRIED[surface] += 1
    try:
        if not raw.strip():  # blank lines and EOF: no request, so a close or a 400 will do
            try:
                assert exchange(emulator.port, raw, half_close=True).status == 400
            except NoAnswer:
                pass
            return
        answer = exchange(
            emulator.port,
            raw.replace(b":PORT", f":{emulator.port}".encode(), 1),
            half_close=half_close,
        )
        assert 200 <= answer.status < 600
        assert answer.status != 500, answer.body[:500]  # a 500 here is an emulator bug
        if is_json or answer.headers.get("content-type", "").startswith("application/json"):
            assert answer.headers["content-type"].startswith("application/json")
            payload = answer.json()  # strict: NaN/Infinity fail
            if answer.status >= 400:
                assert payload.get("detail") or payload.get("message"), payload
        # and it keeps serving
        stats = exchange(
            emulator.port,
            b"GET /_emulator/stats HTTP/1.1\r\nHost: localhost\r\n\r\n",
            half_close=True,
        )
        assert stats.status == 200
    finally:
        emulator.set_faults(**DEFAULT_FAULTS)  # a valid fuzzed change must not slow the rest


SURFACES = ["v2 API", "v3 API", "control", "reset", "log", "feeds.json", "inspector", "stats"]
CASES = {surface: requests_for(surface) for surface in SURFACES} | {"HTTP framing": framing()}


@pytest.mark.parametrize("surface", list(CASES))
def test_every_surface_answers_malformed_requests_and_keeps_serving(emulator, surface):
    @FUZZ
    @given(case=CASES[surface])
    def run(case):
        _check(emulator, surface, case)

    before = TRIED[surface]
    run()
    assert TRIED[surface] - before >= min(EXAMPLES, 50)
    # and the real client is still served afterwards
    emulator.reset()
    client = stream.connect(KEY, SECRET, base_url=emulator.url)
    client.feed("user", "1").add_activity({"actor": "u:1", "verb": "v", "object": "o"})
    assert len(client.feed("user", "1").get()["results"]) == 1
