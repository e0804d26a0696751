"""Switch-check findings from the survey of real stream-django apps: hooks written as methods,
references Enrich no longer loads, and Enrich hooks whose stream-django name became ambiguous."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.apps import apps as global_apps

from feed_outbox.activity import PROPERTY_HOOKS
from feed_outbox.enrich import allowed_model
from feed_outbox.switch_check.activity_models import project_definition
from feed_outbox.switch_check.findings import Finding, display_path
from feed_outbox.switch_check.source import (
    class_attribute_line,
    class_file,
    function_source,
    is_project_file,
    parse_file,
)

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel

_REFERENCING_HOOKS = ("activity_actor_attr", "activity_object_attr", "extra_activity_data")
_LEGACY_FETCH = re.compile(r"fetch_(?P<model>[a-z0-9_]+?)_instances")


def hooks_without_property(models_: list[type[ActivityModel]]) -> list[Finding]:
    """Hooks defined as plain methods: the activity then holds a bound method."""
    findings = []
    for model in models_:
        for hook in PROPERTY_HOOKS:
            definition = project_definition(model, hook)
            if not inspect.isfunction(definition):
                continue
            file, line = class_attribute_line(model, hook) or (None, None)
            label = model._meta.label
            findings.append(
                Finding(
                    "feed_outbox.W114",
                    f"{label}.{hook}",
                    display_path(file),
                    line,
                    f"{label}.{hook} is a method, not a property. stream-django failed in its "
                    "post_save, after the row was saved; feed-outbox builds the activity inside "
                    "the save's transaction, so the save raises ActivityDataError and the row "
                    "is not saved.",
                    "Put @property above it.",
                )
            )
    return findings


def _referenced_fields(node: ast.AST) -> set[str]:
    """``self.<name>`` values a hook returns, directly or as values of a returned dict."""
    names: set[str] = set()
    for item in ast.walk(node):
        if not isinstance(item, ast.Return) or item.value is None:
            continue
        value = item.value
        values = value.values if isinstance(value, ast.Dict) else [value]
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict":
            values = [k.value for k in value.keywords]
        for v in values:
            if isinstance(v, ast.Attribute) and getattr(v.value, "id", None) == "self":
                names.add(v.attr)
    return names


def unenriched_references(models_: list[type[ActivityModel]]) -> list[Finding]:
    """Actors, objects and extra data referring to models feed-outbox's Enrich will not load."""
    findings = []
    for model in models_:
        for hook in _REFERENCING_HOOKS:
            definition = project_definition(model, hook)
            source = function_source(definition) if definition is not None else None
            if source is None:
                continue
            for name in sorted(_referenced_fields(source.node)):
                try:
                    field = model._meta.get_field(name)
                except Exception:  # FieldDoesNotExist: a property or attribute, not a relation
                    continue
                target = field.related_model if field.is_relation else None
                if target is None or isinstance(target, str) or allowed_model(target._meta.label):
                    continue
                label, target_label = model._meta.label, target._meta.label
                findings.append(
                    Finding(
                        "feed_outbox.W115",
                        f"{label}.{hook}",
                        display_path(source.file),
                        source.line,
                        f"{label}.{hook} refers to {target_label} ({name}). stream-django's "
                        "Enrich loaded any 'app.Model:pk'; feed-outbox's loads only Activity "
                        f"models, the user model and FEED_OUTBOX_ENRICH_MODELS, so {target_label} "
                        "stays a reference string in enriched activities.",
                        f"Add {target_label!r} to FEED_OUTBOX_ENRICH_MODELS.",
                    )
                )
    return findings


def ambiguous_fetch_hooks(configs: Iterable[AppConfig]) -> list[Finding]:
    """Enrich subclasses' ``fetch_<model_name>_instances`` hooks shared by several models."""
    from feed_outbox.switch_check.project import project_files

    by_name: dict[str | None, list[str]] = {}
    for model in global_apps.get_models():
        by_name.setdefault(model._meta.model_name, []).append(model._meta.label)
    findings = []
    for path, module in project_files(configs).items():
        tree = parse_file(str(path))
        for klass in ast.walk(tree) if tree else []:
            if not isinstance(klass, ast.ClassDef):
                continue
            if not any("Enrich" in ast.unparse(base) for base in klass.bases):
                continue
            for method in klass.body:
                name = getattr(method, "name", "")
                match = _LEGACY_FETCH.fullmatch(name)
                if match is None or "__" in match["model"]:
                    continue
                labels = sorted(by_name.get(match["model"], []))
                if len(labels) < 2:
                    continue
                # The example names the project's own model: the hook is most likely for it.
                ours = [m for m in labels if is_project_file(class_file(global_apps.get_model(m)))]
                app_label = (ours or labels)[0].split(".")[0]
                findings.append(
                    Finding(
                        "feed_outbox.W116",
                        f"{module}.{klass.name}.{name}",
                        display_path(str(path)),
                        method.lineno,
                        f"{klass.name}.{name} is stream-django's hook name, and "
                        f"{', '.join(labels)} all have that model name: feed-outbox's Enrich "
                        "cannot tell which one it is for, ignores it (with a warning) and loads "
                        "those models through their default manager.",
                        f"Name it fetch_<app_label>__{match['model']}_instances "
                        f"(e.g. fetch_{app_label}__{match['model']}_instances).",
                    )
                )
    return findings
