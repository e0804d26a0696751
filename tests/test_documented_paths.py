"""Every import path the documentation prints still imports: the README's, docs/' and the
emulator README's ``from … import …`` lines, ``python -m …`` commands and dotted names in
backticks. Internals may move between rooms; what a user was told to import may not."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
DOCUMENTS.append(ROOT / "feed_outbox" / "emulator" / "README.md")
PACKAGES = r"(?:feed_outbox|relay)"
FROM_IMPORT = re.compile(rf"\bfrom ({PACKAGES}(?:\.\w+)*) import ((?:\w+(?:, )?)+)")
RUN_MODULE = re.compile(rf"python -m ({PACKAGES}(?:\.\w+)*)")
DOTTED = re.compile(rf"`\"?({PACKAGES}(?:\.\w+)+)")
# Dotted names in the docs that are not Python paths, each with what it is instead.
NOT_PATHS = {
    "feed_outbox.outbox.wait_seconds": "a span attribute the relay sets (relay/tracing.py)",
    "feed_outbox.retry_outboxevent": "a Django permission (app label . codename)",
    "feed_outbox.drain": "an entry point group (pyproject.toml), which the relay's drain joins",
}
CHECK_ID = re.compile(r"^feed_outbox\.[EW]\d{3}$")  # system check ids


def documented_paths() -> list[tuple[str, str]]:
    """(document, dotted path) for every path the documents print, once each."""
    found: dict[str, str] = {}
    for doc in DOCUMENTS:
        text = doc.read_text()
        name = str(doc.relative_to(ROOT))
        for module, names in FROM_IMPORT.findall(text):
            for attr in names.split(", "):
                found.setdefault(f"{module}.{attr}", name)
        for module in RUN_MODULE.findall(text):
            found.setdefault(module, name)
        for dotted in DOTTED.findall(text):
            if dotted not in NOT_PATHS and not CHECK_ID.match(dotted):
                found.setdefault(dotted, name)
    return sorted((doc, path) for path, doc in found.items())


def resolve(path: str) -> object:
    """Import the longest importable module prefix of ``path``, then walk its attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            found = getattr(found, attr)
        return found
    raise ModuleNotFoundError(path)


def test_the_documents_print_paths():
    paths = {path for _, path in documented_paths()}
    # the README's own examples, so an extraction that finds nothing fails here
    assert {"feed_outbox.activity.Activity", "feed_outbox.enrich.Enrich"} <= paths
    assert "feed_outbox.emulator" in paths


@pytest.mark.parametrize(("document", "path"), documented_paths())
def test_documented_path_imports(document, path):
    try:
        resolve(path)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{document} prints {path}, which no longer resolves: {exc}")
