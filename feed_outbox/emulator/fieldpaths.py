"""Dotted field paths of partial updates ("a.b.c"): setting one in a JSON object (v2 and v3)."""

from __future__ import annotations

from typing import Any


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted ``path`` ("a.b.c") in ``data``, making the dicts on the way (partial
    updates, v2's and v3's)."""
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value
