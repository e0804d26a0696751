"""A progress bar for long management commands, drawn on the command's own stdout."""

from __future__ import annotations

import time
from typing import IO

from django.core.management.base import OutputWrapper


class ProgressBar:
    """``[#####.....] 512/1,000 (51%) 3.2s``: redrawn in place on a terminal, one line per
    update (at most every ``interval`` seconds) elsewhere, so logs stay readable."""

    def __init__(
        self, stream: IO[str] | OutputWrapper, total: int | None, label: str = "", width: int = 30
    ) -> None:
        self.stream = stream
        self.total = total
        self.label = label
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_line = 0.0
        self._printed = -1

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self._tty:
            self._write("\r" + self._render())
            self.stream.flush()
        elif now - self._last_line >= 1.0 or (self.total and self.done >= self.total):
            self._last_line = now
            self._printed = self.done
            self._write(self._render() + "\n")

    def finish(self) -> None:
        if self._tty:
            self._write("\r" + self._render() + "\n")
        elif self._printed != self.done:
            self._write(self._render() + "\n")

    def _render(self) -> str:
        elapsed = time.monotonic() - self.started
        prefix = f"{self.label} " if self.label else ""
        if not self.total:
            return f"{prefix}{self.done:,} {elapsed:.1f}s"
        share = min(1.0, self.done / self.total)
        filled = int(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        return f"{prefix}[{bar}] {self.done:,}/{self.total:,} ({share:.0%}) {elapsed:.1f}s"

    def _write(self, text: str) -> None:
        # A management command's OutputWrapper would end every write with a newline.
        if isinstance(self.stream, OutputWrapper):
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)
