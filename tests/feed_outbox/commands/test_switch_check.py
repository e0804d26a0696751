"""outbox_switch_check finds every pattern that behaves differently after the switch from
stream-django, at its file and line, exits 1 then and 0 on a clean project, and ``manage.py check``
reports the same findings as warnings.

The switched project (tests/switch_app) is loaded by its own settings in a subprocess, so its
models and receivers never join the main suite's registry; each expected finding is located by
the ``# marker:`` comment on its line, so moving code moves the expectation with it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from django.test import override_settings

from tests.conftest import ROOT

APP = ROOT / "tests" / "switch_app"
KEYS = {"id", "object", "file", "line", "message", "change"}


def manage(settings: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env={**os.environ, **(env or {}), "DJANGO_SETTINGS_MODULE": settings},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def marker(path: str, text: str) -> tuple[str, int]:
    """``(path, line)`` of the line of ``tests/switch_app/<path>`` carrying ``# marker: text``."""
    lines = (APP / path).read_text().splitlines()
    (line,) = [n for n, s in enumerate(lines, 1) if s.rstrip().endswith(f"# marker: {text}")]
    return f"tests/switch_app/{path}", line


def switch_check(settings: str = "tests.switch_app.settings") -> tuple[int, list[dict]]:
    result = manage(settings, "outbox_switch_check", "--json")
    assert result.stdout.startswith("["), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def switched():
    return switch_check()


def found(findings: list[dict]) -> set[tuple[str, str, str, int]]:
    return {(f["id"], f["object"], f["file"], f["line"]) for f in findings}


def expected_findings() -> set[tuple[str, str, str, int]]:
    w = "feed_outbox.W"
    return {
        (
            w + "101",
            "tests.switch_app.receivers.pin_saved",
            *marker("receivers.py", "W101 pin_saved"),
        ),
        (
            w + "101",
            "tests.switch_app.receivers.board_saved",
            *marker("receivers.py", "W101 board_saved"),
        ),
        (
            w + "101",
            "tests.switch_app.receivers.pin_tagged",
            *marker("receivers.py", "W101 pin_tagged"),
        ),
        (w + "102", "switch_app.Pin.deleted_at", *marker("models.py", "soft delete")),
        (w + "103", "stream_django", *marker("context_processors.py", "W103")),
        (w + "104", "TEMPLATES", *marker("settings.py", "W104 context processor")),
        (w + "105", "STREAM_NEWS_FEEDS", *marker("settings.py", "W105")),
        (w + "106", "STREAM_PERSONAL_FEED", *marker("settings.py", "W106")),
        (w + "107", "switch_app.Board.activity_verb", *marker("models.py", "row-dependent verb")),
        (
            w + "108",
            "tests.switch_app.managers.DirectFeedManager.follow_user",
            *marker("managers.py", "W108"),
        ),
        (
            w + "109",
            "tests.switch_app.sharing.share",
            *marker("sharing.py", "W109 add_activity"),
        ),
        (w + "109", "tests.switch_app.sharing.follow_board", *marker("sharing.py", "W109 follow")),
        (
            w + "110",
            "switch_app.Repin.activity_object_attr",
            *marker("models.py", "object is another row"),
        ),
        (
            w + "110",
            "switch_app.Vote.activity_object_attr",
            *marker("models.py", "object is the voted pin"),
        ),
        (w + "111", "switch_app.Comment", *marker("models.py", "W111")),
        (w + "112", "USE_TZ", *marker("settings.py", "W112")),
        (w + "113", "switch_app.PinProxy", *marker("models.py", "W113")),
        # Found by the survey of real stream-django apps.
        (w + "114", "switch_app.Vote.activity_actor_attr", *marker("models.py", "W114")),
        (w + "115", "switch_app.Board.extra_activity_data", *marker("models.py", "W115")),
        (
            w + "116",
            "tests.switch_app.enrich.PinEnrich.fetch_group_instances",
            *marker("enrich.py", "W116"),
        ),
    }


def test_every_pattern_is_found_at_its_file_and_line_and_nothing_else(switched):
    code, findings = switched
    # Also proves what is not reported: pin_counted (no feed call), follow_saved (Follow is not
    # an Activity), Board.is_removed and Like.is_active (activity_should_publish overridden),
    # the manager's unfollow_user (super()), queryset.follow and a feed read, references to the
    # user model and to Activity models, fetch_pin_instances, fetch_switch_app__group_instances,
    # Like.activity_object_attr returning self, like_saved (a redundant remove and a follow).
    assert found(findings) == expected_findings()
    assert code == 1


def test_json_is_a_list_of_findings_with_the_change_to_make(switched):
    _, findings = switched
    for finding in findings:
        assert set(finding) == KEYS
        assert re.fullmatch(r"feed_outbox\.W1\d\d", finding["id"])
        assert isinstance(finding["line"], int) and finding["message"] and finding["change"]
    by_object = {f["object"]: f for f in findings}
    assert "`return self.deleted_at is None`" in by_object["switch_app.Pin.deleted_at"]["change"]
    receiver = by_object["tests.switch_app.receivers.pin_saved"]
    assert "that receiver publishes nothing for the save" in receiver["message"]
    assert "activity_should_publish()" in receiver["change"]
    assert by_object["STREAM_PERSONAL_FEED"]["change"].startswith(
        "Set STREAM_NOTIFICATION_FEED = 'personal'"
    )
    assert "`from feed_outbox import feed_manager`" in by_object["stream_django"]["change"]
    hook = by_object["tests.switch_app.enrich.PinEnrich.fetch_group_instances"]
    assert "auth.Group, switch_app.Group" in hook["message"]
    assert "fetch_switch_app__group_instances" in hook["change"]


def test_system_check_reports_the_same_findings_as_warnings(switched):
    _, findings = switched
    result = manage("tests.switch_app.settings", "check")
    assert result.returncode == 0, result.stderr  # warnings never fail a deploy
    reported = set(
        re.findall(r"^(\S+): \((feed_outbox\.W1\d\d)\) (\S+?):(\d+): ", result.stderr, re.M)
    )
    assert reported == {(f["object"], f["id"], f["file"], str(f["line"])) for f in findings}


def test_stream_django_left_in_installed_apps_and_as_feed_manager_class_is_found():
    code, findings = switch_check("tests.switch_app.settings_stream_django_installed")
    file = "settings_stream_django_installed.py"
    w104 = {(f["object"], f["file"], f["line"]) for f in findings if f["id"] == "feed_outbox.W104"}
    assert w104 == {
        ("INSTALLED_APPS", *marker(file, "W104 installed")),
        ("STREAM_FEED_MANAGER_CLASS", *marker(file, "W104 manager")),
        ("TEMPLATES", *marker("settings.py", "W104 context processor")),
    }
    # DirectFeedManager is no longer the manager: its direct follow is project code like any.
    direct = ("feed_outbox.W109", "tests.switch_app.managers.DirectFeedManager.follow_user")
    assert direct in {(f["id"], f["object"]) for f in findings}
    assert "feed_outbox.W108" not in {f["id"] for f in findings}
    assert code == 1


def test_clean_project_exits_0():
    result = manage("sample_app.settings", "outbox_switch_check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing behaves differently after the switch" in result.stdout
    # Chirp's one finding is deliberate: it never ran stream-django (sample_app/settings.py).
    assert "(2 silenced by SILENCED_SYSTEM_CHECKS)" in result.stdout


def test_switched_migration_project_is_told_its_likes_need_adopting():
    """The migration suite's chirp after the switch: likes keyed by the tweet under stream-django."""
    chirp = {
        "CHIRP_DATABASE_URL": "sqlite://:memory:",
        "CHIRP_STREAM_API_KEY": "k",
        "CHIRP_STREAM_API_SECRET": "s" * 32,
        "CHIRP_STREAM_BASE_URL": "http://localhost:1",
    }
    result = manage("tests.migration.settings", "outbox_switch_check", "--json", env=chirp)
    (finding,) = json.loads(result.stdout)
    assert (finding["id"], finding["object"]) == (
        "feed_outbox.W110",
        "chirp.Like.activity_object_attr",
    )
    assert finding["file"] == "tests/migration/chirp_after/models.py"
    assert "outbox_adopt_stream_django" in finding["change"]
    assert result.returncode == 1


def test_app_labels_scope_the_models_and_modules(run_command):
    clean = run_command("outbox_switch_check", "sample_app")
    assert clean.code == 0, clean.out
    with override_settings(SILENCED_SYSTEM_CHECKS=[]):
        told = run_command("outbox_switch_check", "sample_app")
    assert told.code == 1
    assert told.out.count("feed_outbox.W110 sample_app.") == 2
    assert "write_app" not in told.out
    assert "change: Deploy, then run `python manage.py outbox_adopt_stream_django`" in told.out
    assert run_command("outbox_switch_check", "no_such_app").code == 2


def test_the_check_reads_source_only():
    """The switched project's context processor imports stream_django: it is read, not imported."""
    result = manage(
        "tests.switch_app.settings",
        "shell",
        "-c",
        "import sys; from django.core import checks; checks.run_checks(); "
        "print(sorted(m for m in sys.modules if m.startswith(('stream_django', 'tests.switch_app.'))))",
    )
    assert "stream_django" not in result.stdout, result.stdout
    assert "tests.switch_app.context_processors" not in result.stdout


def test_an_inspection_that_fails_is_reported_instead_of_breaking_manage_py(monkeypatch):
    """Every management command runs the system checks: code the check cannot read must not
    stop ``migrate``."""
    from django.core import checks

    from feed_outbox.switch_check import project

    def changed_settings():
        raise RuntimeError("unreadable")

    monkeypatch.setattr(project, "changed_settings", changed_settings)
    (warning,) = [w for w in checks.run_checks(databases=[]) if w.id == "feed_outbox.W120"]
    assert (
        warning.msg
        == "The switch check could not finish changed_settings: RuntimeError: unreadable"
    )
