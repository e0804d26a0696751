"""After a full run (writers, relays refused with a wrong secret, then failing calls and retries),
the Stream secret and the tokens signed with it appear in no log, no outbox row, no admin page."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from feed_outbox.models import OutboxEvent
from tests.chaos.processes import EMULATOR_SECRET
from tests.chaos.scenario import Scenario, run
from tests.conftest import database_url
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, databases=["default", "other"]),
]

JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")


def test_the_secret_is_in_no_log_no_outbox_row_and_no_admin_page(subprocess_env, tmp_path, client):
    scenario = Scenario(
        "secret",
        writers=1,
        relays=2,
        transactions=40,
        wrong_secret=True,
        emulator_faults={"error_rate": 0.3},
        clear_faults=False,  # 5xx while the corrected relays drain: retries and last_error
    )
    result = run(scenario, 8, tmp_path, subprocess_env, database_url())
    wrong_secret = "not-the-secret-8"
    assert result.drained and result.report.ok, result.summary()

    logs = result.relay_output + (tmp_path / "emulator.stderr").read_text(errors="replace")
    assert "configuration error" in logs  # the wrong secret was noticed ...
    assert result.faults.get("error", 0) > 0  # and failed calls went through the error paths
    for secret in (EMULATOR_SECRET, wrong_secret):  # ... and neither secret was written down
        assert secret not in logs
    assert not JWT.search(logs), "a signed token is as good as the secret for its scope"

    rows = list(OutboxEvent.objects.values_list("payload", "last_error"))
    assert rows
    for payload, last_error in rows:
        for secret in (EMULATOR_SECRET, wrong_secret):
            assert secret not in str(payload) and secret not in last_error
        assert not JWT.search(last_error)

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    changelist = reverse("admin:feed_outbox_outboxevent_changelist")
    events = list(OutboxEvent.objects.order_by("-attempts")[:5])
    pages = [changelist, changelist + "?status__exact=delivered"]
    pages += [reverse("admin:feed_outbox_outboxevent_change", args=[e.pk]) for e in events]
    pages.append(reverse("admin:feed_outbox_outboxevent_status"))
    with override_settings(STREAM_API_SECRET=EMULATOR_SECRET):
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert EMULATOR_SECRET not in html and not JWT.search(html), url
