"""The settings reference (docs/settings.md) is generated from feed_outbox/conf.py by
docs/_ext/settings_reference.py: each setting's name, default and text appear, and a setting
without its text (or a text without its setting) fails the build instead of going undocumented."""

from __future__ import annotations

import io
import re
import sys
from html import unescape

from sphinx.application import Sphinx

from feed_outbox import conf
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "docs" / "_ext"))  # docs/_ext is not a package
import settings_reference


def test_every_setting_has_its_text_in_conf():
    assert settings_reference.missing(conf.DEFAULTS, conf.SETTING_DOCS) == []
    assert list(conf.SETTING_DOCS) == list(conf.DEFAULTS)  # the reference follows DEFAULTS' order


def test_missing_names_an_undocumented_setting_and_a_text_without_setting():
    assert settings_reference.missing({"A": 1, "B": 2}, {"A": "does a", "C": "does c"}) == [
        "B has no text in SETTING_DOCS",
        "SETTING_DOCS describes C, which DEFAULTS lacks",
    ]


def build(tmp_path) -> tuple[str, str]:
    """Build a one-page site holding the directive; return its HTML and the build's warnings."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'docs' / '_ext')!r})\n"
        'extensions = ["myst_parser", "settings_reference"]\n'
        'source_suffix = {".md": "markdown"}\n'
        "smartquotes = False\n"
    )
    (src / "index.md").write_text(
        "# Settings\n\n```{feed-outbox-settings}\n```\n\nSee {setting}`STREAM_USER_FEED`.\n"
    )
    out = tmp_path / "html"
    warnings = io.StringIO()
    app = Sphinx(src, src, out, tmp_path / "doctrees", "html", status=None, warning=warnings)
    app.build()
    return (out / "index.html").read_text(), warnings.getvalue()


def test_the_reference_prints_each_setting_with_its_default_and_text(tmp_path):
    html, warnings = build(tmp_path)

    assert warnings == ""
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))
    for name, default in conf.DEFAULTS.items():
        assert f'id="setting-{name}"' in html, name
        assert f"{name} (default {default!r})" in text, name
        assert re.sub(r"`", "", conf.SETTING_DOCS[name]) in text, name
    assert 'href="#setting-STREAM_USER_FEED"' in html  # the {setting} role links to its entry


def test_a_setting_without_text_fails_the_build(tmp_path, monkeypatch):
    monkeypatch.setitem(conf.DEFAULTS, "FEED_OUTBOX_UNDOCUMENTED", 1)

    html, warnings = build(tmp_path)

    assert "ERROR" in warnings
    assert "FEED_OUTBOX_UNDOCUMENTED has no text in SETTING_DOCS" in warnings
    assert 'id="setting-STREAM_USER_FEED"' not in html  # no reference printed without it
