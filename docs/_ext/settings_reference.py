"""The ``feed-outbox-settings`` directive: the settings reference, generated from
``feed_outbox.conf`` (``DEFAULTS`` for names and defaults, ``SETTING_DOCS`` for what each does),
so no setting is described twice. Each setting becomes a ``setting`` target other pages link to
with ``{setting}`NAME```. A setting without its text, or a text without its setting, is an error.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

CODE = re.compile(r"`([^`]+)`")


def inline(text: str) -> list[nodes.Node]:
    """``text`` as nodes: `backticked` spans become literals, the rest plain text."""
    parts: list[nodes.Node] = []
    for i, piece in enumerate(CODE.split(text)):
        if piece:
            parts.append(nodes.literal(piece, piece) if i % 2 else nodes.Text(piece))
    return parts


def missing(defaults: dict[str, Any], docs: dict[str, str]) -> list[str]:
    """What keeps the reference from being complete: settings without text, texts without setting."""
    return [f"{name} has no text in SETTING_DOCS" for name in defaults if not docs.get(name)] + [
        f"SETTING_DOCS describes {name}, which DEFAULTS lacks"
        for name in docs
        if name not in defaults
    ]


class SettingsReference(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from feed_outbox import conf

        problems = missing(conf.DEFAULTS, conf.SETTING_DOCS)
        if problems:
            raise self.error("feed_outbox/conf.py: " + "; ".join(problems))
        self.env.note_dependency(conf.__file__)
        std = self.env.domains.standard_domain
        entries = nodes.definition_list()
        for name, default in conf.DEFAULTS.items():
            node_id = f"setting-{name}"
            term = nodes.term("", "", nodes.literal(name, name), ids=[node_id])
            term += nodes.Text(" (default ")
            term += nodes.literal(repr(default), repr(default))
            term += nodes.Text(")")
            std.note_object("setting", name, node_id, location=term)
            body = nodes.definition("", nodes.paragraph("", "", *inline(conf.SETTING_DOCS[name])))
            entries += nodes.definition_list_item("", term, body)
        return [entries]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_crossref_type("setting", "setting")
    app.add_directive("feed-outbox-settings", SettingsReference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
