"""JSON encoding of response bodies, with lists of already-encoded objects spliced in as is."""

from __future__ import annotations

import json
from typing import Any


class RawList(list):
    """A JSON array whose items are already-encoded JSON texts."""

    last_id: str | None = None  # id of the last item, for the `next` page link


def dumps(body: Any) -> str:
    if isinstance(body, dict) and any(isinstance(v, RawList) for v in body.values()):
        parts = []
        for key, value in body.items():
            text = "[" + ",".join(value) + "]" if isinstance(value, RawList) else _plain(value)
            parts.append(f"{json.dumps(key)}:{text}")
        return "{" + ",".join(parts) + "}"
    return _plain(body)


# Stream answers compact JSON, no space after "," or ":" (the wrong-secret answer kept in
# tests/relay/test_real_answers.py, from GetStream/stream-go2#98): Python's default separators
# made every answer about a tenth larger than the service's for clients to receive and parse.
SEPARATORS = (",", ":")


def _plain(value: Any) -> str:
    # allow_nan=False: an answer is strict JSON or an error (request bodies are parsed strictly,
    # emulator/jsonstrict.py, so nothing non-finite should reach here)
    return json.dumps(value, default=str, allow_nan=False, separators=SEPARATORS)


def loads_raw(items: RawList) -> list[Any]:
    return [json.loads(item) for item in items]
