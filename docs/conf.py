"""Sphinx configuration of feed-outbox's documentation (MyST Markdown pages, the furo theme).

`make docs` builds it with warnings as errors; .readthedocs.yaml builds the same on Read the Docs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The checkout's packages, not an installed copy; docs/_ext holds the settings extension and the
# Django settings autodoc imports the public modules under.
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]
os.environ["DJANGO_SETTINGS_MODULE"] = "docs_settings"
django.setup()

import feed_outbox  # noqa: E402  (after django.setup())

project = "feed-outbox"
author = "feed-outbox contributors"
copyright = "feed-outbox contributors"
release = feed_outbox.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "settings_reference",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
# `## Heading` anchors, so pages link to each other's sections as on GitHub (page.md#heading).
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"feed-outbox {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
# A method without its own docstring shows none, not the overridden one's: Django's
# QuerySet.bulk_create says it sends nothing, which ActivityQuerySet's publishes.
autodoc_inherit_docstrings = False
autodoc_default_options = {"members": True, "show-inheritance": True}

# Nitpicky (`make docs` passes -n too): every reference must resolve, on Read the Docs as well.
# The standard library's, Django's, stream-python's, getstream's and DRF's objects are documented
# on their own sites, whose inventories are not fetched (intersphinx needs the network at build
# time, which `make docs` does without); references into feed_outbox and relay still fail the
# build when they do not resolve.
nitpicky = True
ELSEWHERE = [
    "collections",
    "contextlib",
    "datetime",
    "django",
    "rest_framework",
    "stream",
    "getstream",
]
nitpick_ignore_regex = [(r"py:.*", rf"({'|'.join(ELSEWHERE)})\..*")]
# start_emulator() returns the emulator, which topics/emulator.md documents as a service (its
# routes, faults and pages), not in the API reference.
nitpick_ignore = [("py:class", "Emulator")]
