"""Every import path the documentation prints still imports: the README's, docs/' and the
emulator README's ``from … import …`` lines, ``python -m …`` commands and dotted names in
backticks. Internals may move between rooms; what a user was told to import may not. So do the
files they name: repository paths in backticks, relative links (the README's into docs/, and the
pages' own), and every ``docs/….md`` a comment or document of the repository points at."""

from __future__ import annotations

import importlib
import re
import subprocess
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


# Repository paths in backticks: `relay/supervisor.py`, `deploy/prometheus/alerts.yml`, `tests/chaos/`.
REPO_PATH = re.compile(r"`((?:feed_outbox|relay|tests|docs|deploy|sample_app|\.ci)/[\w./*-]*)`")
# Named in the docs, but files of another repository, not this one.
ELSEWHERE = {"tests/test_feed_integration.py": "GetStream/stream-py's SDK feed tests"}
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
DOCS_PAGE = re.compile(r"\bdocs/[\w/.-]+\.md\b")
SOURCE_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".html", ".txt"}
SOURCE_NAMES = {"Makefile", "Dockerfile", ".ci/run"}


def documented_files() -> list[tuple[str, str]]:
    """(document, repository path) for every path in backticks and every relative link."""
    found = set()
    for doc in DOCUMENTS:
        text = doc.read_text()
        name = str(doc.relative_to(ROOT))
        for path in REPO_PATH.findall(text):
            if path not in ELSEWHERE:
                found.add((name, path))
        for link in LINK.findall(text):
            if "://" not in link and not link.startswith("mailto:"):
                target = (doc.parent / link).resolve()
                found.add(
                    (name, str(target.relative_to(ROOT)) if target.is_relative_to(ROOT) else link)
                )
    return sorted(found)


def docs_pages_named_in_the_repository() -> list[tuple[str, str]]:
    """(file, docs page) for every docs/….md a file of the repository names (git's view of it:
    tracked files and new ones, not what .gitignore leaves out)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    found = set()
    for name in listed:
        file = ROOT / name
        if not file.is_file():  # deleted, not yet staged
            continue
        if file.suffix in SOURCE_SUFFIXES or name in SOURCE_NAMES:
            for page in DOCS_PAGE.findall(file.read_text(errors="replace")):
                found.add((name, page))
    return sorted(found)


def test_the_documents_name_files_and_link_pages():
    files = {path for _, path in documented_files()}
    assert {"docs/topics/stream-errors.md", "relay/supervisor.py"} <= files
    assert "docs/index.md" in files  # the README's link into the documentation
    assert generated("docs/_build") and not generated("docs/index.md")
    pages = docs_pages_named_in_the_repository()
    assert ("relay/retry.py", "docs/topics/stream-errors.md") in pages


def generated(path: str) -> bool:
    """Whether git ignores ``path``: build output (docs/_build/, .venv/), which a fresh clone
    has only once a command made it, so naming it is no stale path."""
    # as a directory too: a missing docs/_build matches the pattern docs/_build/ only so
    for candidate in (path, path.rstrip("/") + "/"):
        ignored = subprocess.run(["git", "check-ignore", "-q", candidate], cwd=ROOT, check=False)
        if ignored.returncode == 0:
            return True
    return False


@pytest.mark.parametrize(("document", "path"), documented_files())
def test_documented_file_exists(document, path):
    if generated(path):
        return
    if "*" in path:
        assert list(ROOT.glob(path)), f"{document} names {path}, which matches no file"
    else:
        assert (ROOT / path).exists(), f"{document} names {path}, which does not exist"


@pytest.mark.parametrize(("source", "page"), docs_pages_named_in_the_repository())
def test_docs_page_named_in_the_repository_exists(source, page):
    assert (ROOT / page).is_file(), f"{source} points at {page}, which does not exist"
