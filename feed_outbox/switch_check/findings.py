"""What the switch check reports: a ``Finding``, and the path it shows for a file."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One pattern found: ``id`` is its system-check id, ``object`` what it is about (a model
    label, a function, a setting, a module), ``file``/``line`` where it is when there is a place."""

    id: str
    object: str
    file: str | None
    line: int | None
    message: str
    change: str

    @property
    def where(self) -> str:
        if self.file is None:
            return self.object
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def display_path(path: str | None) -> str | None:
    """A path relative to the working directory when it is inside it (how editors open it)."""
    if not path:
        return None
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
