"""The cause of a failed delivery: the error class and a short message, read from the text the
relay records (``last_error``), so the relay's log and ``outbox_status`` group events alike."""

from __future__ import annotations

import re

#: Longest cause kept: a Stream answer's detail can go on for lines.
CAUSE_CHARS = 160

# requests' connection errors name the request's URL (a feed id: one per event) and wrap
# urllib3's reason: "HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: /u
# (Caused by NameResolutionError(\"HTTPConnection(host='h', port=1): Failed to resolve 'h'\"))"
_POOL = re.compile(r"HTTPS?ConnectionPool\(host='([^']*)', port=(\d+)\): ")
_CAUSED_BY = re.compile(r"Max retries exceeded with url: \S+ \(Caused by \w+\((['\"])(.*)\1\)\)$")
_CONNECTION = re.compile(r"^(?:HTTPS?Connection\([^)]*\)|<[^>]*>): ")
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def error_cause(error: str) -> str:
    """``"ConnectionError: api.127.0.0.1:8711: Failed to resolve 'api.127.0.0.1' (…)"`` from
    a recorded error; errors that differ only in the request's URL share their cause."""
    text = (error or "").strip()
    if not text:
        return "(no error recorded)"
    text = text.splitlines()[0].split(" | answer: ", 1)[0]  # the raw answer stays in last_error
    pool = _POOL.search(text)
    if pool is not None:
        where = f"{pool.group(1)}:{pool.group(2)}: "
        rest = text[pool.end() :]
        caused = _CAUSED_BY.search(rest)
        if caused is not None:
            rest = _CONNECTION.sub("", caused.group(2))
        text = text[: pool.start()] + where + rest
    text = _ADDRESS.sub("", text)
    return text if len(text) <= CAUSE_CHARS else text[: CAUSE_CHARS - 1] + "…"
