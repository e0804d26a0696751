"""``outbox_switch_check``'s inspection: every pattern of a project whose behaviour differs after the
switch from stream-django to feed_outbox, with where it is and the change to make.

The command (``feed_outbox/management/commands/outbox_switch_check.py``) prints the findings; the
system check ``feed_outbox.checks.check_switch_from_stream_django`` reports them as warnings
``feed_outbox.W101`` and up. Source lines cited as ``activity.py:95-97`` are stream-django 1.8.0's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from django.apps import AppConfig
from django.apps import apps as global_apps

from feed_outbox.switch_check.findings import Finding


def find_all(app_configs: Iterable[AppConfig] | None = None) -> list[Finding]:
    """Every finding for the apps given (default: all); settings are the project's in any case."""
    from feed_outbox.switch_check import activity_models, project, reads
    from feed_outbox.switch_check.source import parse_file

    parse_file.cache_clear()  # each run reads the files as they are now

    configs = list(app_configs) if app_configs is not None else list(global_apps.get_app_configs())
    models = activity_models.activity_models(configs)
    inspections: list[Callable[[], list[Finding]]] = [
        partial(activity_models.receivers_calling_feed_manager, models),
        partial(activity_models.soft_delete_fields, models),
        partial(activity_models.row_dependent_identity, models),
        partial(activity_models.foreign_id_changes, models),
        partial(activity_models.proxy_identity_changes, models),
        partial(activity_models.time_changes, models),
        partial(reads.hooks_without_property, models),
        partial(reads.unenriched_references, models),
        partial(reads.ambiguous_fetch_hooks, configs),
        partial(project.stream_django_imports, configs),
        project.stream_django_settings,
        project.changed_settings,
        project.feed_manager_bypassing_outbox,
    ]
    findings = [f for inspect in inspections for f in _guarded(inspect)]
    reported = {(f.file, f.line) for f in findings}
    findings += _guarded(partial(project.direct_stream_writes, configs, skip=reported))
    return sorted(findings, key=lambda f: (f.id, f.file or "", f.line or 0, f.object))


def _guarded(inspect: Callable[[], list[Finding]]) -> list[Finding]:
    """An inspection's findings; one that fails on unusual code says so instead of breaking
    ``manage.py check`` (which every management command runs)."""
    try:
        return inspect()
    except Exception as exc:
        name = getattr(getattr(inspect, "func", inspect), "__name__", "inspection")
        return [
            Finding(
                "feed_outbox.W120",
                name,
                None,
                None,
                f"The switch check could not finish {name}: {type(exc).__name__}: {exc}",
                "Report it to feed-outbox with the code it stopped on.",
            )
        ]


def unsilenced(findings: list[Finding]) -> list[Finding]:
    """The findings not listed in SILENCED_SYSTEM_CHECKS (a project accepting one on purpose)."""
    from django.conf import settings

    ids = set(getattr(settings, "SILENCED_SYSTEM_CHECKS", ()))
    return [f for f in findings if f.id not in ids]
