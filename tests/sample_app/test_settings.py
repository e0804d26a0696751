"""The sample settings teach good habits: password validators on sign-up, and every warning of
``manage.py check --deploy`` a demo-only default that docs/demo.md names and a deployment lifts."""

from __future__ import annotations

import re
import secrets
import subprocess

import pytest
from django.urls import reverse

from tests.conftest import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases=["default", "other"])]

# What `check --deploy` says of the demo's defaults, each named in docs/demo.md as demo-only.
DEMO_ONLY = {"security.W008", "security.W009", "security.W012", "security.W016", "security.W004"}


def check_deploy(python: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    # The sample app's own settings (not the tests'), as `make demo` and the image read them.
    environ = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "sample_app.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **env,
    }
    return subprocess.run(
        [python, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def warnings(result: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"\((security\.W\d+)\)", result.stdout + result.stderr))


def test_signup_refuses_a_weak_password_with_the_validators_reasons(client):
    for weak, reason in [
        ("demo", "too short"),
        ("password123", "too common"),
        ("48151623424815", "entirely numeric"),
        ("newbie-chirp", "too similar to the username"),
    ]:
        page = client.post(
            reverse("signup"), {"username": "newbie-chirp", "password1": weak, "password2": weak}
        )
        assert page.status_code == 200, weak  # the form again, no account
        assert reason in page.content.decode(), weak
    assert "_auth_user_id" not in client.session


def test_the_seeded_accounts_log_in_with_the_printed_password_demo(client):
    from django.core.management import call_command

    call_command("seed_demo", stdout=None)
    for username in ("alice", "staff"):
        assert client.login(username=username, password="demo"), username


def test_check_deploy_warns_only_of_the_demo_only_defaults_the_docs_name(python, tmp_path):
    result = check_deploy(python, tmp_path)

    assert result.returncode == 0, result.stderr
    assert warnings(result) == DEMO_ONLY
    demo = (ROOT / "docs" / "demo.md").read_text()
    section = demo.split("## Demo-only settings", 1)[1].split("\n## ", 1)[0]
    for warning in DEMO_ONLY:
        assert warning.split(".")[1] in section, warning


def test_a_deployments_key_and_https_lift_every_warning_but_hsts(python, tmp_path):
    result = check_deploy(python, tmp_path, SECRET_KEY=secrets.token_urlsafe(50), HTTPS="1")

    assert result.returncode == 0, result.stderr
    assert warnings(result) == {"security.W004"}  # HSTS: the deployment's own decision
