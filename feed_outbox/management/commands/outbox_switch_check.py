"""outbox_switch_check: what in this project behaves differently after the switch from
stream-django, where it is, and the change to make (exit 1 when anything is found)."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError, CommandParser

from feed_outbox.management.base import PROBLEMS, USAGE, OperationsCommand
from feed_outbox.switch_check import find_all, unsilenced
from feed_outbox.switch_check.findings import Finding


class Command(OperationsCommand):
    help = (
        "Inspect the running project for patterns whose behaviour differs after the switch\n"
        "from stream-django to feed_outbox: receivers of Activity models calling the feed\n"
        "manager, soft-delete fields without activity_should_publish(), stream_django imports\n"
        "and settings left behind, STREAM_NEWS_FEEDS keys vs values, STREAM_PERSONAL_FEED,\n"
        "verbs and feeds read from row data, a custom feed manager or project code writing to\n"
        "Stream directly, and activity identities (foreign id, time, proxies) stream-django\n"
        "computed otherwise. Each finding has its system-check id (feed_outbox.W101 and up;\n"
        "SILENCED_SYSTEM_CHECKS is honoured), its file and line, and the change to make.\n"
        "Give app labels to inspect only those apps (settings are inspected in any case)."
    )
    problems = "something behaves differently after the switch (the findings are listed)"
    requires_system_checks: list[str] = []  # the findings are the system check's: not twice
    needs_outbox = False  # it reads the project's code and settings, not the outbox

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_labels", nargs="*", metavar="app_label")
        parser.add_argument(
            "--json",
            action="store_true",
            help="print the findings as a JSON list (id, object, file, line, message, change)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            configs = [apps.get_app_config(label) for label in options["app_labels"]] or None
        except LookupError as exc:
            raise CommandError(str(exc), returncode=USAGE) from exc
        everything = find_all(configs)
        findings = unsilenced(everything)
        if options["json"]:
            self.stdout.write(json.dumps([f.to_dict() for f in findings], indent=2))
        else:
            self.stdout.write(render(findings, len(everything) - len(findings)))
        if findings:
            raise CommandError(
                f"{len(findings)} finding(s): see the changes to make above", returncode=PROBLEMS
            )


def render(findings: list[Finding], silenced: int) -> str:
    lines = []
    for finding in findings:
        lines += [
            f"{finding.where}: {finding.id} {finding.object}",
            f"    {finding.message}",
            f"    change: {finding.change}",
            "",
        ]
    note = f" ({silenced} silenced by SILENCED_SYSTEM_CHECKS)" if silenced else ""
    if findings:
        lines.append(f"{len(findings)} finding(s){note}.")
    else:
        lines.append(f"Nothing behaves differently after the switch from stream-django{note}.")
    return "\n".join(lines)
