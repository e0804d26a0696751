"""An HTTP request as the server hands it to v2's and v3's routing and to the inspector."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    peer: str = ""
    local: str = ""  # the address the connection arrived on (the emulator's side)


def parse_query(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True)) if query else {}
