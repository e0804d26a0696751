"""Strict JSON for request bodies: RFC 8259 only (no NaN or Infinity, finite numbers, bounded
nesting), so that what the emulator stores and answers is always valid JSON."""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deeper bodies are refused: a structure Python's recursive encoder could not write back (about
# 1000 levels) must never be stored. Stream documents no depth limit; 128 is far beyond any
# activity (10KB at most), and far below the interpreter's limit.
MAX_DEPTH = 128

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class StrictJSONError(ValueError):
    """The body is not RFC 8259 JSON, or is nested deeper than MAX_DEPTH; the message says why."""


def _no_constant(name: str) -> Any:
    # RFC 8259 section 6: "Numeric values that cannot be represented in the grammar below (such
    # as Infinity and NaN) are not permitted." Python's json module accepts them by default.
    raise StrictJSONError(f"{name} is not a JSON value (RFC 8259 allows finite numbers only)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to inf and would be written back as Infinity
        raise StrictJSONError(f"the number {text[:40]} is out of range (not a finite double)")
    return value


def loads(data: bytes | str) -> Any:
    """Parse a request body; StrictJSONError (a ValueError) says why it is refused."""
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise StrictJSONError(f"it is nested deeper than {MAX_DEPTH} levels") from None
    except StrictJSONError:
        raise
    except ValueError as exc:  # JSONDecodeError, invalid UTF-8, an int of over 4300 digits
        raise StrictJSONError(str(exc)) from None
    if isinstance(value, (dict, list)):
        _check_depth(data.encode() if isinstance(data, str) else data)
    return value


def _check_depth(data: bytes) -> None:
    # Only called on text that parsed, so every string is closed and the pattern is linear.
    brackets = _STRINGS.sub(b"", data).translate(None, _NOT_BRACKETS)
    if len(brackets) <= MAX_DEPTH:
        return
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise StrictJSONError(f"it is nested deeper than {MAX_DEPTH} levels")
        else:
            depth -= 1
